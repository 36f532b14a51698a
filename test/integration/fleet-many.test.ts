// A fleet of many installations (#14): every app kind several times on one sshd and one HTTPS
// endpoint per app, and per-installation isolation — two installations on the same host with
// different credentials each use only their own (the servers log which credential each
// connection or request carried), sessions are kept per installation, a pin is one
// installation's and never vouches for another on the same host.
import { chmod } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { TRANSPORT_SECRET_SLOTS, type Installation } from '../../src/shared/installations';
import { makeTestHome } from '../harness/home';
import { runTool, startSshd } from '../harness/sshd';
import { startDirectoryFleet } from '../fleet/directory/fleet';
import { FLEET_KINDS, startManyFleet } from '../fleet/many';

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function coreWith(name: string): Promise<Core> {
  const core = await createCore({ home: makeTestHome(name), secretStore: new MemorySecretStore(name) });
  stops.push(() => core.close());
  return core;
}

/** Refreshes the given installations (all when none) and waits for every job. */
async function refresh(core: Core, id?: string): Promise<void> {
  for (const jobId of await core.fleet.refresh(id)) await core.jobs.wait(jobId);
}

describe('a fleet of many installations', () => {
  it('starts N installations of every app kind on one sshd and one HTTPS endpoint per app, each with its own path and credential, all online', async () => {
    const fleet = await startManyFleet({ perApp: 2 });
    stops.push(() => fleet.stop());
    const core = await coreWith('fleet-many');
    const client = createInProcessClient(core);
    const added: Installation[] = [];
    for (const input of fleet.inputs) added.push(await client.call('installations:add', input));
    expect(new Set(added.map((i) => i.app))).toEqual(new Set(FLEET_KINDS));
    expect(added).toHaveLength(2 * FLEET_KINDS.length);
    // One sshd, one origin per HTTPS app; distinct paths and secrets per installation.
    expect(new Set(added.filter((i) => i.ssh).map((i) => `${i.ssh!.host}:${i.ssh!.port}`))).toEqual(new Set([`127.0.0.1:${fleet.sshd.port}`]));
    for (const kind of ['meshmonitor', 'nojoin', 'dbackup']) {
      const ofKind = added.filter((i) => i.app === kind);
      expect(new Set(ofKind.map((i) => new URL(i.https!.baseUrl).origin)).size, kind).toBe(1);
      expect(new Set(ofKind.map((i) => `${i.https!.baseUrl} ${JSON.stringify(i.settings)}`)).size, kind).toBe(2);
    }
    // Transport credentials differ (the Loomio copies share the seed's backup key: their files are its copies).
    const secrets = fleet.inputs.flatMap((i) => Object.entries(i.secrets ?? {}).filter(([slot]) => (TRANSPORT_SECRET_SLOTS as readonly string[]).includes(slot)).map(([, v]) => v));
    expect(secrets.length).toBe(6);
    expect(new Set(secrets).size).toBe(secrets.length);
    const paths = added.filter((i) => i.ssh).map((i) => JSON.stringify(i.settings));
    expect(new Set(paths).size).toBe(paths.length);

    await refresh(core);
    const overview = await client.call('fleet:overview', {});
    expect(overview.map((e) => [e.name, e.status?.state])).toEqual(added.map((i) => [i.name, 'online']));
    expect(added.every((i) => i.tags.length === 2)).toBe(true);

    // HTTPS: every request under an installation's path carried only that installation's credential.
    for (const front of [fleet.fronts.meshmonitor!, fleet.fronts.nojoin!]) {
      const byTenant = new Map<number, Set<string>>();
      for (const request of front.requests) {
        expect(request.status, `${request.method} ${request.path}`).toBeLessThan(400);
        for (const credential of [request.authorization, request.cookie]) if (credential) byTenant.set(request.tenant, (byTenant.get(request.tenant) ?? new Set()).add(credential));
      }
      expect([...byTenant.keys()].sort()).toEqual([0, 1]);
      const [a, b] = [byTenant.get(0)!, byTenant.get(1)!];
      expect([...a].filter((c) => b.has(c))).toEqual([]);
    }
    // DBackup: one server, each storage listed only with its own installation's API key.
    const dbackups = added.filter((i) => i.app === 'dbackup');
    for (const installation of dbackups) {
      const storage = String(installation.settings.storageIds);
      const seen = fleet.dbackup!.requests.filter((r) => r.path.includes(storage));
      expect(seen.length).toBeGreaterThan(0);
      expect(new Set(seen.map((r) => r.key))).toEqual(new Set([installation.name]));
    }
    // Sessions (a Nojoin login) are kept per installation, never per host.
    for (const installation of added.filter((i) => i.app === 'nojoin')) expect(core.sessions.count(installation.id)).toBeGreaterThan(0);
    await client.call('installations:remove', { id: added.find((i) => i.app === 'nojoin')!.id });
    expect(core.sessions.count(added.filter((i) => i.app === 'nojoin')[1]!.id)).toBeGreaterThan(0);
  }, 240_000);

  it('keeps two installations on the same sshd apart: each job logs in with its own user and credential, reads only its own folder, and a pin vouches for one installation only', async () => {
    const sshd = await startSshd({ passwordAuth: true });
    stops.push(() => sshd.stop());
    const keyUser = 'lifeboat-fleet';
    const keyHome = (await runTool('sh', ['-c', `getent passwd ${keyUser} | cut -d: -f6`])).trim();
    // A: the key user, its folder in its own home. B: the password user (sshd.user), its own home.
    const a = await startDirectoryFleet({ sshd: { ...sshd, user: keyUser, homeDir: keyHome } });
    const b = await startDirectoryFleet({ sshd });
    stops.push(() => a.stop(), () => b.stop());
    await b.writeArchive();
    for (const folder of [a.folder, b.folder]) await chmod(folder, 0o700);
    expect(sshd.user).not.toBe(keyUser);

    const core = await coreWith('fleet-isolation');
    const client = createInProcessClient(core);
    const instA = await client.call('installations:add', { ...a.installation, name: 'A (key)' });
    const instB = await client.call('installations:add', {
      ...b.installation,
      name: 'B (password)',
      ssh: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'password', hostKeySha256: sshd.hostKeyFingerprint },
      secrets: { 'ssh-password': sshd.password! },
    });
    const logins = async (id: string): Promise<string[]> => {
      const before = sshd.accepted.length;
      await refresh(core, id);
      return sshd.accepted.slice(before);
    };
    const loginsA = await logins(instA.id);
    const loginsB = await logins(instB.id);
    expect(loginsA.length).toBeGreaterThan(0);
    expect(loginsB.length).toBeGreaterThan(0);
    for (const line of loginsA) expect(line).toMatch(new RegExp(`^Accepted publickey for ${keyUser} from 127\\.0\\.0\\.1 `));
    for (const line of loginsB) expect(line).toMatch(new RegExp(`^Accepted password for ${sshd.user} from 127\\.0\\.0\\.1 `));

    const entries = Object.fromEntries((await client.call('fleet:overview', {})).map((e) => [e.name, e]));
    expect(entries['A (key)']!.status).toMatchObject({ state: 'online', message: '2 backup(s) on the server' });
    expect(entries['B (password)']!.status).toMatchObject({ state: 'online', message: '3 backup(s) on the server' });

    // A third installation on the same host with a pin that is not this host's: refused, while
    // A's pin for the very same host:port keeps A online.
    const wrongPin = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const instC = await client.call('installations:add', { ...a.installation, name: 'C (other pin)', ssh: { ...a.installation.ssh!, hostKeySha256: wrongPin } });
    const loginsC = await logins(instC.id);
    expect(loginsC).toEqual([]);
    await refresh(core, instA.id);
    const after = Object.fromEntries((await client.call('fleet:overview', {})).map((e) => [e.name, e.status?.state]));
    expect(after['C (other pin)']).not.toBe('online');
    expect(after['A (key)']).toBe('online');
    expect((await client.call('installations:get', { id: instC.id })).ssh?.hostKeySha256).toBe(wrongPin);
  }, 120_000);
});
