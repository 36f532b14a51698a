// Notifications over real sockets against local receivers that behave as the documented services
// do (ntfy: POST to the topic, Title/Priority/Tags headers; a generic webhook taking JSON;
// healthchecks.io: /start, success, /fail with a body), and a receiver that answers 500, then
// 429 (Retry-After), then hangs: retried with back-off, then reported, while the scheduled pull
// it was pinged for runs to its end. The pulls are real: the Folder module over the test sshd.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { Installation } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import type { NotificationRecord } from '../../src/shared/schedule';
import { startDirectoryFleet, type DirectoryFleet } from '../fleet/directory/fleet';
import { makeTestHome } from '../harness/home';
import { until } from '../harness/wait';

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on 127.0.0.1; `answer` decides each response (or never answers). */
async function receiver(answer: (req: Seen, n: number, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      answer(entry, seen.length, res);
      if (!res.writableEnded) hanging.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ntfyLike = (req: Seen, _n: number, res: http.ServerResponse) => {
  // ntfy answers a publish with the message as JSON.
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x1', time: 1, event: 'message', topic: req.path.slice(1), message: req.body }));
};
const healthchecksLike = (_req: Seen, _n: number, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
};
/** 500, then 429 with Retry-After: 1, then no answer at all. */
const flaky = (_req: Seen, n: number, res: http.ServerResponse) => {
  if (n === 1) res.writeHead(500).end('internal error');
  else if (n === 2) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
};

describe('notifications and scheduled pulls', () => {
  let fleet: DirectoryFleet;
  let core: Core;
  let installation: Installation;
  const clock = { t: Date.now() };
  let ntfy: Awaited<ReturnType<typeof receiver>>;
  let webhook: Awaited<ReturnType<typeof receiver>>;
  let hc: Awaited<ReturnType<typeof receiver>>;
  let dead: Awaited<ReturnType<typeof receiver>>;
  const notifications: NotificationRecord[] = [];
  const deliveries: { channelId: string; ok: boolean; attempts: number; detail: string }[] = [];

  beforeAll(async () => {
    [fleet, ntfy, webhook, hc, dead] = await Promise.all([startDirectoryFleet({ name: 'Folder (unattended)' }), receiver(ntfyLike), receiver(healthchecksLike), receiver(healthchecksLike), receiver(flaky)]);
    core = await createCore({ home: makeTestHome('unattended'), secretStore: new MemorySecretStore('unattended test'), clock: { now: () => clock.t } });
    core.events.on('notification:new', (n) => notifications.push(n));
    core.events.on('notification:delivery', (d) => deliveries.push(d));
    const client = createInProcessClient(core);
    await client.call('vault:init', {});
    installation = await client.call('installations:add', fleet.installation);
    await client.call('schedule:set', { installationId: installation.id, installation: { pull: { preset: 'hourly', jitterMinutes: 0 } } });
    await client.call('notify:save-channel', { id: 'phone', kind: 'ntfy', name: 'Phone', url: `${ntfy.url}/lifeboat-alerts`, tags: ['lifeboat'] });
    await client.call('notify:save-channel', { id: 'hook', kind: 'webhook', name: 'Hook', url: `${webhook.url}/hooks/lifeboat` });
    await client.call('notify:save-channel', { id: 'successes', kind: 'webhook', name: 'Successes', url: `${webhook.url}/hooks/successes`, events: ['run-succeeded'] });
    await client.call('notify:set-healthcheck', { installationId: installation.id, url: `${hc.url}/ping/5f1e` });
    core.unattended.run('unattended test');
  }, 120_000);

  afterAll(async () => {
    await core?.close();
    await Promise.all([fleet?.stop(), ntfy?.close(), webhook?.close(), hc?.close(), dead?.close()]);
  });

  /** Moves the clock past the next slot and ticks; returns the scheduled job it started, ended. */
  async function nextScheduledPull(): Promise<JobRecord> {
    const before = new Set(core.jobs.list({ installationId: installation.id }).map((j) => j.id));
    clock.t = (Math.floor(clock.t / 3_600_000) + 1) * 3_600_000 + 1000;
    await core.unattended.tick();
    const started = core.jobs.list({ installationId: installation.id }).find((j) => !before.has(j.id) && j.kind === 'pull');
    expect(started, 'a scheduled pull started').toBeDefined();
    return core.jobs.wait(started!.id);
  }

  it('a scheduled pull runs, says why, and pings /start then success; quiet on success on ntfy and the webhook', async () => {
    const job = await nextScheduledPull();
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.reason).toBe('scheduled (hourly)');
    await until(() => hc.seen.length >= 2, 'the start and success pings');
    expect(hc.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /ping/5f1e/start', 'POST /ping/5f1e']);
    // Quiet on success: only the channel that chose run-succeeded hears of it; not ntfy, not the other webhook, not the centre.
    await until(() => webhook.seen.some((s) => s.path === '/hooks/successes'), 'the success on the channel that chose it');
    expect(JSON.parse(webhook.seen[0]!.body)).toMatchObject({ event: 'run-succeeded', severity: 'info', installationId: installation.id });
    await core.unattended.notifications.settle();
    expect(ntfy.seen).toEqual([]);
    expect(webhook.seen.map((s) => s.path)).toEqual(['/hooks/successes']);
    expect(notifications.map((n) => n.event)).not.toContain('run-succeeded');
    // The watchdog saw both sides: the app's newest backup (from the list the pull read) and the verified copy.
    const { entries, fleet: summary } = await createInProcessClient(core).call('watch:states', {});
    expect(entries).toEqual([expect.objectContaining({ installationId: installation.id, state: 'fresh', appNewest: expect.any(String), lifeboatNewest: expect.any(String), consecutiveFailures: 0 })]);
    expect(summary.summary).toBe('All fresh');
  });

  it('a failed scheduled pull: ntfy gets title, priority and tags; the webhook gets the documented JSON; the ping gets /fail with the log', async () => {
    await createInProcessClient(core).call('installations:update', { id: installation.id, changes: { ...fleet.installation, settings: { directory: `${fleet.folder}-gone`, pattern: 'site-*.tar.gz' } } });
    const job = await nextScheduledPull();
    expect(job.status).toBe('failed');
    await until(() => ntfy.seen.length >= 1 && webhook.seen.some((s) => s.path === '/hooks/lifeboat') && hc.seen.length >= 4, 'the failure on every channel');
    const message = ntfy.seen[0]!;
    expect(message.method).toBe('POST');
    expect(message.path).toBe('/lifeboat-alerts');
    expect(message.headers.title).toBe('Scheduled pull of Folder (unattended) failed');
    expect(message.headers.priority).toBe('4');
    expect(message.headers.tags).toBe('warning,lifeboat');
    expect(message.body).toContain(job.error!.message);
    const hook = webhook.seen.find((s) => s.path === '/hooks/lifeboat')!;
    const payload = JSON.parse(hook.body) as Record<string, unknown>;
    expect(hook.headers['content-type']).toBe('application/json');
    expect(payload).toMatchObject({ version: 1, event: 'run-failed', severity: 'warning', title: 'Scheduled pull of Folder (unattended) failed', installationId: installation.id });
    expect(Object.keys(payload).sort()).toEqual(['at', 'event', 'id', 'installationId', 'message', 'severity', 'title', 'version']);
    const fail = hc.seen.find((s) => s.path === '/ping/5f1e/fail')!;
    expect(fail.body).toContain(job.error!.message);
    expect(fail.body).toContain('scheduled (hourly)');
    await createInProcessClient(core).call('installations:update', { id: installation.id, changes: fleet.installation });
  });

  it('a receiver answering 500, then 429, then hanging is retried with back-off and then reported; the pull it pinged for is unaffected', async () => {
    await createInProcessClient(core).call('notify:set-healthcheck', { installationId: installation.id, url: `${dead.url}/ping/dead`, timeoutSeconds: 1, retries: 2 });
    const failedBefore = notifications.filter((n) => n.event === 'channel-failed').length;
    // The back-off after the earlier failure is 5 min: the next slot is an hour later anyway.
    const job = await nextScheduledPull();
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    await until(() => deliveries.some((d) => d.channelId === `healthchecks-${installation.id}` && !d.ok), 'the dead receiver to be given up on', 60_000);
    const report = deliveries.find((d) => d.channelId === `healthchecks-${installation.id}` && !d.ok)!;
    expect(report).toMatchObject({ ok: false, attempts: 3, detail: 'HTTP 500, then HTTP 429, then no answer in 1 s' });
    expect(dead.seen.filter((s) => s.path === '/ping/dead/start')).toHaveLength(3);
    await until(() => notifications.filter((n) => n.event === 'channel-failed').length > failedBefore, 'the channel failure in the notification centre');
    const failure = notifications.filter((n) => n.event === 'channel-failed').at(-1)!;
    expect(failure.message).toMatch(/after 3 attempt\(s\): HTTP 500, then HTTP 429, then no answer in 1 s/);
    const history = await createInProcessClient(core).call('notify:history', { limit: 50 });
    expect(history.items.map((n) => n.id)).toContain(failure.id);
    const channels = await createInProcessClient(core).call('notify:channels', {});
    expect(channels.find((c) => c.kind === 'healthchecks')?.lastDelivery).toMatchObject({ ok: false });
  });

  it('notify test sends on the channel now and says whether it arrived', async () => {
    const before = ntfy.seen.length;
    const result = await createInProcessClient(core).call('notify:test', { id: 'phone' });
    expect(result).toEqual({ ok: true, attempts: 1, detail: 'HTTP 200' });
    expect(ntfy.seen[before]!.headers.title).toBe('Lifeboat test notification');
  });

  it('no channel URL is written to the data directory', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const files = readdirSync(core.home.root).filter((f) => statSync(`${core.home.root}/${f}`).isFile());
    for (const f of files) {
      const text = readFileSync(`${core.home.root}/${f}`, 'utf8');
      for (const secret of ['/lifeboat-alerts', '/hooks/lifeboat', '/hooks/successes', '/ping/5f1e', '/ping/dead']) expect(text, `${f} holds ${secret}`).not.toContain(secret);
    }
  });
});
