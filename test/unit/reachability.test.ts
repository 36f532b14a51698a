// The network monitor with probes the test controls: offline after scheduled pulls failed on the
// network (all of a small fleet, three of a larger one), back when a failed endpoint answers, when
// the machine gains a non-loopback address, or when the shell says so; a name that cannot be
// resolved tells nothing, so it never holds pulls. The TCP probe is tried against real sockets.
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NetworkMonitor, endpointOf, tcpReachable, type Endpoint, type Reach } from '../../src/main/schedule/reachability';

function monitor(endpoints: Record<string, Endpoint | null>) {
  const probe = { interfaces: true, reach: new Map<string, Reach>(), probed: [] as string[] };
  const m = new NetworkMonitor(async (id) => endpoints[id] ?? null, {
    interfaces: () => probe.interfaces,
    reach: async (e) => {
      probe.probed.push(`${e.host}:${e.port}`);
      return probe.reach.get(`${e.host}:${e.port}`) ?? 'unreachable';
    },
  });
  return { m, probe };
}

describe('network monitor', () => {
  it('a fleet of one is offline after one network failure, and back when its server answers', async () => {
    const { m, probe } = monitor({ a: { host: '10.0.0.5', port: 22 } });
    m.noteOutcome('a', 'ARCHIVE_INVALID');
    expect(m.offline(1)).toBe(false);
    m.noteOutcome('a', 'SSH_CONNECTION_REFUSED');
    expect(m.offline(1)).toBe(true);
    expect(await m.check(1)).toBe(false);
    expect(m.offline(1)).toBe(true);
    probe.reach.set('10.0.0.5:22', 'reached');
    expect(await m.check(1)).toBe(true);
    expect(m.offline(1)).toBe(false);
    expect(probe.probed).toEqual(['10.0.0.5:22', '10.0.0.5:22']);
  });

  it('a larger fleet needs three installations failing on the network with no success between', () => {
    const { m } = monitor({});
    m.noteOutcome('a', 'HTTP_TIMEOUT');
    m.noteOutcome('b', 'SSH_TIMEOUT');
    expect(m.offline(200)).toBe(false);
    m.noteOutcome('a', 'HTTP_NETWORK');
    expect(m.offline(200)).toBe(false);
    m.noteOutcome('c', 'SSH_DNS');
    expect(m.offline(200)).toBe(true);
    m.noteOutcome('d', null);
    expect(m.offline(200)).toBe(false);
  });

  it('gaining a non-loopback address is a return; a name that does not resolve never holds pulls', async () => {
    const { m, probe } = monitor({ a: { host: 'backup.example.org', port: 22 } });
    expect(await m.check(1)).toBe(false);
    probe.interfaces = false;
    expect(await m.check(1)).toBe(false);
    m.noteOutcome('a', 'SSH_TIMEOUT');
    expect(m.offline(1)).toBe(true);
    probe.interfaces = true;
    expect(await m.check(1)).toBe(true);
    expect(m.offline(1)).toBe(false);
    m.noteOutcome('a', 'SSH_DNS');
    probe.reach.set('backup.example.org:22', 'unknown');
    expect(await m.check(1)).toBe(false);
    expect(m.offline(1)).toBe(false);
  });

  it("the shell's word: offline until it says online again", () => {
    const { m } = monitor({});
    expect(m.setSystemOnline(true)).toBe(false);
    expect(m.setSystemOnline(false)).toBe(false);
    expect(m.offline(5)).toBe(true);
    expect(m.setSystemOnline(true)).toBe(true);
    expect(m.offline(5)).toBe(false);
  });

  it('probes the first hop: the bastion, the SSH port, the HTTPS port; not a ~/.ssh/config alias', () => {
    expect(endpointOf({ ssh: { host: '192.0.2.7', port: 2222, auth: 'agent' } })).toEqual({ host: '192.0.2.7', port: 2222 });
    expect(endpointOf({ ssh: { host: '192.0.2.7', auth: 'agent', jumpHost: 'ops@bastion.example.org:2200' } })).toEqual({ host: 'bastion.example.org', port: 2200 });
    expect(endpointOf({ ssh: { host: 'office', auth: 'agent' } })).toBeNull();
    expect(endpointOf({ https: { baseUrl: 'https://backup.example.org', auth: 'none' } })).toEqual({ host: 'backup.example.org', port: 443 });
    expect(endpointOf({ https: { baseUrl: 'http://127.0.0.1:8080/app', auth: 'none' } })).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('the TCP probe reaches a listening port and not a closed one', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    expect(await tcpReachable({ host: '127.0.0.1', port })).toBe('reached');
    await new Promise((resolve) => server.close(resolve));
    expect(await tcpReachable({ host: '127.0.0.1', port })).toBe('unreachable');
  });
});
