// Weavestream over HTTPS, operator present: the adapter and the generic pull machinery against
// the fake Weavestream API (test/fleet/weavestream/https-server.ts: real TLS, CSRF, signed and
// rotating session cookies, mandatory TOTP MFA, step-up, rate limits) serving the dumps the real
// pg_dump made in the fleet's backup directory. Codes are real RFC 6238 TOTP values.
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RemoteBackup } from '../../src/shared/apps';
import type { Installation, InstallationInput } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { CommandOutcome } from '../../src/main/cli/exit-codes';
import { registerAppCommands } from '../../src/main/cli/app-commands';
import { weavestreamModule } from '../../src/main/apps/weavestream';
import { manifestSidecarText } from '../../src/main/apps/weavestream/https-verbs';
import { parseWeavestreamManifest, serializeWeavestreamManifest } from '../../src/main/apps/weavestream/manifest';
import { makeTestHome } from '../harness/home';
import { hotp, totpCounter } from '../harness/totp';
import { ensureVault } from '../fleet/index';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';
import { jsonbOrder, startWeavestreamHttps, type WeavestreamHttpsHandle } from '../fleet/weavestream/https-server';

let fleet: WeavestreamFleet;
let server: WeavestreamHttpsHandle;
let core: Core;
let client: ReturnType<typeof createInProcessClient>;
let seeds: string[];

beforeAll(async () => {
  fleet = await startWeavestreamFleet({ seedDumps: 3 });
  // A 1 s access token: nearly every request presents an expired one and gets rotated cookies.
  server = await startWeavestreamHttps({ backupDir: fleet.backupDir, exportNow: () => fleet.exportNow(), accessTtlSec: 1 });
  core = await createCore({ home: makeTestHome('weavestream-https'), secretStore: new MemorySecretStore('weavestream https test') });
  client = createInProcessClient(core);
  await ensureVault(core);
  seeds = (await fleet.listBackupDir()).filter((n) => n.endsWith('.dump')).sort().reverse();
});

afterAll(async () => {
  await core?.close();
  await server?.stop();
  await fleet?.stop();
});

let installations = 0;
/** A fresh HTTPS-only installation: its own session in Lifeboat. */
async function addInstallation(options: { apiKey?: boolean; password?: string } = {}): Promise<Installation> {
  installations += 1;
  const input: InstallationInput = {
    name: `Weavestream HTTPS ${installations}`,
    app: 'weavestream',
    https: { baseUrl: server.url, auth: options.apiKey ? 'bearer' : 'password', username: server.email, pinnedCertSha256: server.certSha256 },
    settings: {},
    secrets: { 'https-password': options.password ?? server.password, ...(options.apiKey ? { 'api-token': server.apiKey } : {}) },
  };
  return client.call('installations:add', input);
}

const usedCounters = new Set<number>();
/** A TOTP code of a time step not typed before (the server may refuse a step used once), within its ±1 window. */
async function freshCode(): Promise<string> {
  for (;;) {
    const now = totpCounter();
    const counter = [now, now + 1].find((c) => !usedCounters.has(c));
    if (counter !== undefined) {
      usedCounters.add(counter);
      return hotp(server.totpSecret, counter);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function runJob(started: Promise<{ jobId: string }>): Promise<JobRecord> {
  return core.jobs.wait((await started).jobId);
}

function pullJob(installation: Installation, remoteId?: string): Promise<JobRecord> {
  return runJob(client.call('apps:pull', { installationId: installation.id, ...(remoteId ? { remoteId } : {}) }));
}

function expectCodeRequired(job: JobRecord, reason: string): void {
  expect(job.status).toBe('failed');
  expect(job.error?.code).toBe('CODE_REQUIRED');
  expect(job.error?.details?.reason).toBe(reason);
}

const count = (method: string, suffix: string): number => server.requests.filter((r) => r.method === method && r.path.endsWith(suffix)).length;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('test harness', () => {
  it('computes RFC 6238 TOTP values (SHA-1 test vectors)', () => {
    const secret = Buffer.from('12345678901234567890');
    // RFC 6238 Appendix B: T=59 → 94287082, T=1111111109 → 07081804 (8 digits; 6 are the low ones).
    expect(hotp(secret, totpCounter(59_000), 8)).toBe('94287082');
    expect(hotp(secret, totpCounter(1_111_111_109_000), 8)).toBe('07081804');
    expect(hotp(secret, totpCounter(59_000))).toBe('287082');
  });

  it('serves manifests in JSONB key order, which Lifeboat writes back out as the worker did', async () => {
    const manifestFile = path.join(fleet.backupDir, seeds[0]!.replace(/\.dump$/, '.manifest.json'));
    const text = await readFile(manifestFile, 'utf8');
    const reordered = jsonbOrder(JSON.parse(text) as Record<string, unknown>);
    expect(Object.keys(reordered)[0]).toBe('sha256');
    expect(manifestSidecarText(reordered)).toBe(text);
    expect(serializeWeavestreamManifest(parseWeavestreamManifest(manifestSidecarText(reordered)))).toBe(text);
  });
});

describe('Weavestream over HTTPS', () => {
  let session: Installation;

  it('lists runs with a read-only ws_ API key: no login, no code', async () => {
    const keyed = await addInstallation({ apiKey: true });
    const logins = count('POST', '/auth/login');
    const list: RemoteBackup[] = await client.call('apps:list-remote', { installationId: keyed.id });
    expect(list.map((b) => b.id)).toEqual(seeds);
    expect(list[0]!.details.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(list[0]!.details.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(count('POST', '/auth/login')).toBe(logins);
    const caps = weavestreamModule.capabilities(keyed);
    expect(caps).toMatchObject({ list: true, pull: true, trigger: true, restore: false, interactive: ['pull', 'trigger'] });
    // The fleet's freshness cadence comes from the schedules (GET /backups/configs: "0 3 * * *"), also with the key alone.
    const configReads = count('GET', '/backups/configs');
    const overview = async () => (await client.call('fleet:overview', {})).find((e) => e.installationId === keyed.id);
    await core.jobs.wait((await client.call('fleet:refresh', { installationId: keyed.id })).jobIds[0] as string);
    expect((await overview())?.cadenceHours).toBe(24);
    expect(count('GET', '/backups/configs')).toBe(configReads + 1);
    expect(count('POST', '/auth/login')).toBe(logins);
    expect(caps.notes.join(' ')).toMatch(/no restore endpoint/);
  });

  it('a pull without a code stops at the login challenge with CODE_REQUIRED (login), after one login', async () => {
    session = await addInstallation();
    const logins = count('POST', '/auth/login');
    const job = await pullJob(session);
    expectCodeRequired(job, 'login');
    expect(job.error?.message).toMatch(/authenticator app/);
    expect(count('POST', '/auth/login')).toBe(logins + 1);
    expect(count('POST', '/auth/mfa/verify')).toBe(0);
  });

  it('when Weavestream refuses the login code for the step-up: CODE_REQUIRED (code-reused), still logged in', async () => {
    const logins = count('POST', '/auth/login');
    await client.call('installations:provide-code', { installationId: session.id, code: await freshCode() });
    const job = await pullJob(session);
    expectCodeRequired(job, 'code-reused');
    expect(count('POST', '/auth/login')).toBe(logins);
    expect(count('POST', '/auth/mfa/verify')).toBe(1);
    expect(count('POST', '/auth/step-up/verify')).toBe(1);
  });

  it('a fresh code completes the pull without logging in again: snapshot in the vault, verified against the manifest', async () => {
    const logins = count('POST', '/auth/login');
    await client.call('installations:provide-code', { installationId: session.id, code: await freshCode() });
    const job = await pullJob(session);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const result = job.result as PullResult;
    expect(result.remoteId).toBe(seeds[0]);
    expect(count('POST', '/auth/login')).toBe(logins);
    expect(count('POST', '/auth/mfa/verify')).toBe(1);

    const dump = await readFile(path.join(fleet.backupDir, seeds[0]!));
    const manifest = parseWeavestreamManifest(await readFile(path.join(fleet.backupDir, seeds[0]!.replace(/\.dump$/, '.manifest.json')), 'utf8'));
    expect(result.sizeBytes).toBe(manifest.sizeBytes);
    expect(result.sha256).toBe(manifest.sha256);
    expect(sha256(dump)).toBe(manifest.sha256);
    expect(result.checks.find((c) => c.id === 'sha256')).toMatchObject({ ok: true });
    expect(result.checks.find((c) => c.id === 'size')).toMatchObject({ ok: true });
    const snapshots = await core.vault.snapshots({ installationId: session.id });
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.remoteId).toBe(seeds[0]);
    expect(server.audit.filter((a) => a.action === 'backup.run.downloaded')).toHaveLength(1);
  });

  it('within the step-up window, listing and a second pull need no code', async () => {
    const requestsBefore = server.requests.length;
    // On a failure, what this test sent and what the server answered (no cookies or codes in it).
    const sent = (): string => server.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path} → ${r.status}`).join('\n');
    const list = await client.call('apps:list-remote', { installationId: session.id });
    expect(list[0]!.inVault, sent()).not.toBeNull();
    const job = await pullJob(session, seeds[1]);
    expect(job.error, `${JSON.stringify(job.error)}\n${job.log.join('\n')}\n${sent()}`).toBeNull();
    expect((job.result as PullResult).remoteId).toBe(seeds[1]);
    expect(count('POST', '/auth/step-up/verify'), sent()).toBe(2);
    // Cookies rotated all along (1 s access tokens); the only refusal was the reused code, none for a stale cookie.
    expect(server.requests.filter((r) => r.status === 401).map((r) => `${r.method} ${r.path}`), sent()).toEqual(['POST /api/v1/auth/step-up/verify']);
    // A fast run can do all of the above inside one second, before the 1 s access token expires:
    // past its expiry (whole seconds, so at most 2 s from now) the next call must rotate, not be refused.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await client.call('apps:list-remote', { installationId: session.id });
    expect(server.requests.filter((r) => r.status === 401).map((r) => `${r.method} ${r.path}`), sent()).toEqual(['POST /api/v1/auth/step-up/verify']);
    expect(server.rotations()).toBeGreaterThan(0);
  });

  it('Run now queues a run and waits for it to finish; the new dump is listed and pulls', async () => {
    const job = await runJob(client.call('apps:trigger', { installationId: session.id }));
    expect(job.error).toBeNull();
    const result = job.result as { message: string; remoteId: string };
    expect(result.remoteId).toMatch(/^weavestream-postgres-.*\.dump$/);
    expect(result.message).toContain(result.remoteId);
    expect(await fleet.listBackupDir()).toContain(result.remoteId);
    expect(server.audit.map((a) => a.action)).toEqual(expect.arrayContaining(['backup.run.triggered', 'backup.run.completed']));
    expect(job.log.join('\n')).toMatch(/is success/);
    const list = await client.call('apps:list-remote', { installationId: session.id });
    expect(list[0]!.id).toBe(result.remoteId);
  });

  it('a download with a changed byte is quarantined, nothing enters the vault', async () => {
    const list = await client.call('apps:list-remote', { installationId: session.id });
    const newest = list[0]!.id;
    const file = await open(path.join(fleet.backupDir, newest), 'r+');
    try {
      const size = (await file.stat()).size;
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, Math.floor(size / 2));
      byte[0] = (byte[0] as number) ^ 0xff;
      await file.write(byte, 0, 1, Math.floor(size / 2));
    } finally {
      await file.close();
    }
    const before = (await core.vault.snapshots({ installationId: session.id })).length;
    const job = await pullJob(session, newest);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(job.error?.message).toMatch(/sha256|SHA-256/);
    const quarantined = (await core.quarantine.list()).filter((q) => q.installationId === session.id);
    expect(quarantined.map((q) => q.remoteId)).toEqual([newest]);
    expect(await core.vault.snapshots({ installationId: session.id })).toHaveLength(before);
  });

  it('when Weavestream ends the step-up window early, the next pull asks for a code (step-up) and a backup code answers it', async () => {
    server.expireStepUps();
    const job = await pullJob(session, seeds[2]);
    expectCodeRequired(job, 'step-up');
    const backupCode = server.backupCodes[0]!;
    await client.call('installations:provide-code', { installationId: session.id, code: backupCode });
    const retried = await pullJob(session, seeds[2]);
    expect(retried.error).toBeNull();
    expect(server.backupCodes).not.toContain(backupCode);
  });

  it('a server that takes the same TOTP for login and step-up needs one code for the whole pull', async () => {
    server.configure({ rejectReusedCodes: false });
    try {
      const lenient = await addInstallation();
      // Reuse is allowed here, so a step typed before is fine.
      await client.call('installations:provide-code', { installationId: lenient.id, code: server.code() });
      const job = await pullJob(lenient, seeds[0]);
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
    } finally {
      server.configure({ rejectReusedCodes: true });
    }
  });

  it('a wrong code is reported as rejected and not tried again', async () => {
    const installation = await addInstallation();
    const verifies = count('POST', '/auth/mfa/verify');
    const now = totpCounter();
    const valid = new Set([now - 1, now, now + 1, now + 2].map((c) => hotp(server.totpSecret, c)));
    const wrong = ['000000', '111111', '222222'].find((c) => !valid.has(c))!;
    await client.call('installations:provide-code', { installationId: installation.id, code: wrong });
    const job = await pullJob(installation);
    expectCodeRequired(job, 'code-rejected');
    expect(job.error?.message).toMatch(/did not accept the code \("Invalid verification code"\)/);
    expect(count('POST', '/auth/mfa/verify')).toBe(verifies + 1);
    // The code was used once: the same job again asks for a new one instead of resending it.
    expectCodeRequired(await pullJob(installation), 'login');
    expect(count('POST', '/auth/mfa/verify')).toBe(verifies + 1);
  });

  it('lifeboat pull --code hands the code over first (one code is enough where Weavestream takes it twice)', async () => {
    server.configure({ rejectReusedCodes: false });
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const installation = await addInstallation();
      const program = new Command().exitOverride();
      registerAppCommands(program, { getCore: async () => core, json: () => true, outcome: new CommandOutcome() });
      await program.parseAsync(['pull', installation.name, seeds[1]!, '--code', server.code()], { from: 'user' });
      const result = JSON.parse(written.join('')) as PullResult;
      expect(result).toMatchObject({ remoteId: seeds[1], alreadyInVault: false });
      expect(await core.vault.snapshots({ installationId: installation.id })).toHaveLength(1);
    } finally {
      stdout.mockRestore();
      server.configure({ rejectReusedCodes: true });
    }
  });

  it('the fleet view: a refresh spends no login on a code-only installation, and a pull waiting for a code is not "failing"', async () => {
    const waiting = await addInstallation();
    expectCodeRequired(await pullJob(waiting), 'login');
    const logins = count('POST', '/auth/login');
    const { jobIds } = await client.call('fleet:refresh', { installationId: waiting.id });
    const refreshed = await core.jobs.wait(jobIds[0] as string);
    expect(refreshed.status).toBe('succeeded');
    expect(count('POST', '/auth/login')).toBe(logins);
    const entry = (await client.call('fleet:overview', {})).find((e) => e.installationId === waiting.id);
    expect(entry?.freshness).not.toBe('failing');
    expect(entry?.status?.state).toBe('unknown');
    expect(entry?.status?.message).toMatch(/authenticator code/);
    expect(entry?.lastError).toBeNull();
  });

  it('refuses malformed codes at the contract', async () => {
    await expect(client.call('installations:provide-code', { installationId: session.id, code: '12345' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(client.call('installations:provide-code', { installationId: session.id, code: '<b>123456</b>' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('a wrong password fails once without retry; past 5 logins a minute the error names Retry-After-auth', async () => {
    const wrong = await addInstallation({ password: 'not the password' });
    let job: JobRecord | null = null;
    for (let attempt = 0; attempt < 8; attempt++) {
      const logins = count('POST', '/auth/login');
      job = await pullJob(wrong);
      expect(count('POST', '/auth/login')).toBe(logins + 1);
      if (job.error?.code !== 'HTTP_AUTH_FAILED') break;
      expect(job.error.message).toMatch(/refused the login of .*Invalid credentials.*does not try again by itself/);
    }
    expect(job?.error?.code).toBe('HTTP_RATE_LIMITED');
    expect(job?.error?.message).toMatch(/too many login attempts .*try again in \d+ s \(Retry-After-auth\)/);
    expect(job?.error?.details?.retryAfterSeconds).toBeGreaterThan(0);
    const limited = server.requests.filter((r) => r.path.endsWith('/auth/login') && r.status === 429);
    expect(limited).toHaveLength(1);
  });
});
