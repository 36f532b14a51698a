// The MeshMonitor adapter against the fake MeshMonitor (HTTPS, real TLS) and a real sshd whose test
// user's home holds the fake's data directory, so SFTP uploads land where the fake's restart reads.
// The restart command is `curl` to a control endpoint of this test that calls the fake's restart().
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatContext } from '../harness/format-context';
import type { ArchiveAccess, RestoreContext, StepContext } from '../../src/main/apps/adapter';
import { createAdapterContext, type OwnedAdapterContext } from '../../src/main/apps/context';
import { meshMonitorModule } from '../../src/main/apps/meshmonitor';
import { findRestoreOutcome } from '../../src/main/apps/meshmonitor/restore-log';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import type { PreviewReport, RestoreMode, RestorePlan } from '../../src/shared/apps';
import { LifeboatError } from '../../src/shared/errors';
import type { Installation, InstallationInput } from '../../src/shared/installations';
import { SAMPLE_ARCHIVE, startMeshMonitor, type MeshMonitorHandle } from '../fleet/meshmonitor/server';
import { makeTestHome } from '../harness/home';
import { startSshd, type TestSshd } from '../harness/sshd';
import { addUnknownNodeColumn } from '../fleet/meshmonitor/edits';
import { wholeArchiveOf } from '../harness/whole-archive';

const run = promisify(execFile);
const SAMPLE_DIRNAME = '2026-11-23_131719';
const EXCERPTS = path.resolve('test/fixtures/meshmonitor/restore-log-excerpts.txt');

let core: Core;
let sshd: TestSshd;
let mm: MeshMonitorHandle;
let dataDir: string;
let tmp: string;
let control: http.Server;
const restarts: string[] = [];
const contexts: OwnedAdapterContext[] = [];
let tokenInst: Installation;
let passwordInst: Installation;
let wrongPasswordInst: Installation;
let sshOnlyInst: Installation;
let tokenSshInst: Installation;
let tokenAndPasswordInst: Installation;

function stepContext(signal = new AbortController().signal, onProgress?: (phase: string | undefined, bytes: number | undefined) => void): StepContext & { lines: string[] } {
  const lines: string[] = [];
  return { signal, lines, progress: (p) => onProgress?.(p.phase, p.bytes), log: (line) => lines.push(line) };
}

function context(installation: Installation, step: StepContext = stepContext()): OwnedAdapterContext {
  const ctx = createAdapterContext(core, installation, step);
  contexts.push(ctx);
  return ctx;
}

function restoreContext(installation: Installation, step: StepContext = stepContext()): RestoreContext & { points: string[] } {
  const points: string[] = [];
  return { ...context(installation, step), points, passPointOfNoReturn: (what) => points.push(what) };
}

function fileArchive(file: string): ArchiveAccess {
  return { fileName: path.basename(file), size: null, mtime: null, sidecars: [], open: async () => createReadStream(file) };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function auditCount(action: string): number {
  return mm.rows('audit_log').filter((r) => r.action === action).length;
}

async function backupDirs(): Promise<string[]> {
  return (await readdir(mm.backupDir)).sort();
}

async function preview(file: string): Promise<PreviewReport> {
  const report = await meshMonitorModule.format.preview(fileArchive(file), formatContext(stepContext()));
  return { ...report, source: { kind: 'file', name: path.basename(file) } };
}

async function plan(installation: Installation, file: string, mode: RestoreMode, selection: string[] = []): Promise<{ plan: RestorePlan; preview: PreviewReport }> {
  const report = await preview(file);
  const draft = await meshMonitorModule.restore!.plan(context(installation), { archive: fileArchive(file), preview: report, mode, conflict: null, selection });
  return {
    preview: report,
    plan: {
      id: `plan-${Date.now()}`,
      createdAt: new Date().toISOString(),
      installationId: installation.id,
      installationName: installation.name,
      app: 'meshmonitor',
      source: { path: file },
      sourceLabel: path.basename(file),
      sourceInstallationId: null,
      crossInstallation: false,
      mode,
      conflict: null,
      selection,
      ...draft,
      followUps: draft.followUps ?? [],
      nothingToSave: draft.nothingToSave ?? null,
      blocked: draft.preflight.some((c) => c.blocking && !c.ok),
      confirmationText: installation.name,
    },
  };
}

/** A copy of the sample archive with `edit` applied to its extracted directory. */
async function editedSample(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const work = await mkdtemp(path.join(tmp, 'edit-'));
  await run('tar', ['-xzf', SAMPLE_ARCHIVE, '-C', work]);
  await edit(path.join(work, SAMPLE_DIRNAME));
  const out = path.join(tmp, `${name}.tar.gz`);
  await run('tar', ['-czf', out, '-C', work, SAMPLE_DIRNAME]);
  return out;
}

async function add(input: InstallationInput): Promise<Installation> {
  return core.registry.add(input);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mm-adapter-'));
  core = await createCore({ home: makeTestHome('mm-adapter'), secretStore: new MemorySecretStore('test') });
  sshd = await startSshd();
  // The fake runs as root here; the sshd user owns the data dir so that SFTP can write system-backups/.
  dataDir = await mkdtemp(path.join(sshd.homeDir, 'meshmonitor-'));
  await mkdir(path.join(dataDir, 'system-backups'));
  mm = await startMeshMonitor({ dataDir, adminPassword: 'changeme', apiToken: true, production: true });
  await run('chown', ['-R', `${sshd.user}:`, dataDir]);

  control = http.createServer((req, res) => {
    const match = /^\/restart\/([0-9_-]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    restarts.push(match[1]!);
    mm.restart({ env: { RESTORE_FROM_BACKUP: match[1]! } }).then(
      () => res.writeHead(200).end('restarted\n'),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const controlPort = (control.address() as AddressInfo).port;

  const https = { baseUrl: mm.url, pinnedCertSha256: mm.certSha256 };
  const ssh = { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key' as const, keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint };
  const settings = {
    dataDir,
    restartCommand: `curl -fsS -X POST http://127.0.0.1:${controlPort}/restart/{dirname}`,
    logCommand: 'cat {dataDir}/logs/meshmonitor.log',
    restoreTimeoutSeconds: '20',
  };
  tokenInst = await add({ name: 'mesh token', app: 'meshmonitor', https: { ...https, auth: 'bearer' }, secrets: { 'api-token': mm.apiToken! } });
  passwordInst = await add({
    name: 'mesh password',
    app: 'meshmonitor',
    https: { ...https, auth: 'password', username: 'admin' },
    ssh,
    settings,
    secrets: { 'https-password': 'changeme' },
  });
  wrongPasswordInst = await add({ name: 'mesh wrong', app: 'meshmonitor', https: { ...https, auth: 'password', username: 'admin' }, secrets: { 'https-password': 'not-the-password' } });
  sshOnlyInst = await add({ name: 'mesh ssh', app: 'meshmonitor', ssh, settings });
  tokenSshInst = await add({ name: 'mesh token ssh', app: 'meshmonitor', https: { ...https, auth: 'bearer' }, ssh, settings, secrets: { 'api-token': mm.apiToken! } });
  tokenAndPasswordInst = await add({ name: 'mesh token + password', app: 'meshmonitor', https: { ...https, auth: 'bearer', username: 'admin' }, ssh, settings, secrets: { 'api-token': mm.apiToken!, 'https-password': 'changeme' } });
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await new Promise<void>((resolve) => (control ? control.close(() => resolve()) : resolve()));
  await mm?.stop();
  await core?.close();
  await sshd?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('HTTPS: list, trigger, pull', () => {
  let dirname: string;

  it('with a Bearer token: trigger, list newest first, pull and verify every table', async () => {
    const ctx = context(tokenInst);
    const made = await meshMonitorModule.sources.trigger!(ctx);
    dirname = made.remoteId!;
    expect(dirname).toMatch(/^\d{4}-\d{2}-\d{2}_\d{6}$/);
    const list = await meshMonitorModule.sources.list!(ctx);
    expect(list[0]).toMatchObject({ id: dirname, details: { tables: '20', schemaVersion: '21', appVersion: '4.15.1', type: 'manual' } });

    const source = await meshMonitorModule.sources.open(ctx, dirname);
    expect(source).toMatchObject({ fileName: `${dirname}.tar.gz`, resumable: false, groupPath: 'system-backups' });
    await expect(source.open(100)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const verifier = source.createVerifier();
    const bytes = await collect(await source.open(0));
    for (let i = 0; i < bytes.length; i += 1000) verifier.write(bytes.subarray(i, i + 1000));
    const checks = await verifier.finish(wholeArchiveOf(bytes));
    expect(checks.every((c) => c.ok), JSON.stringify(checks)).toBe(true);
    expect(checks.find((c) => c.name === 'Table checksums')?.detail).toMatch(/all 20 table files/);
    expect(checks.find((c) => c.name === 'metadata.json')?.detail).toMatch(/not covered by any checksum/);
    const sidecar = source.sidecars.find((s) => s.name === 'metadata.json');
    expect(sidecar?.content.toString()).toBe(await readFile(path.join(mm.backupDir, dirname, 'metadata.json'), 'utf8'));
  });

  it('with a password: csrf → login once per job, then list, trigger (CSRF-protected POST) and pull on the same session', async () => {
    const logins = auditCount('login_success');
    const ctx = context(passwordInst);
    expect((await meshMonitorModule.sources.list!(ctx)).map((b) => b.id)).toContain(dirname);
    const made = await meshMonitorModule.sources.trigger!(ctx);
    const source = await meshMonitorModule.sources.open(ctx, made.remoteId!);
    const verifier = source.createVerifier();
    const pulled = await collect(await source.open(0));
    verifier.write(pulled);
    expect((await verifier.finish(wholeArchiveOf(pulled))).every((c) => c.ok)).toBe(true);
    expect(auditCount('login_success')).toBe(logins + 1);
    expect(await meshMonitorModule.sources.cadenceHours!(ctx)).toBeNull();
  });

  it('a wrong password fails with HTTP_AUTH_FAILED after exactly one login attempt, and is not retried within the job', async () => {
    const failures = auditCount('login_failed');
    const ctx = context(wrongPasswordInst);
    const first = await meshMonitorModule.sources.list!(ctx).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(LifeboatError);
    expect((first as LifeboatError).code).toBe('HTTP_AUTH_FAILED');
    expect((first as LifeboatError).message).toMatch(/does not try again/);
    expect((first as LifeboatError).message).not.toContain('not-the-password');
    await expect(meshMonitorModule.sources.trigger!(ctx)).rejects.toMatchObject({ code: 'HTTP_AUTH_FAILED' });
    expect(auditCount('login_failed')).toBe(failures + 1);
  });

  it('a byte changed in a table file on the server: the verifier names that table', async () => {
    const ctx = context(tokenInst);
    const made = await meshMonitorModule.sources.trigger!(ctx);
    const file = path.join(mm.backupDir, made.remoteId!, 'nodes.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"nodeNum"', '"nodeNun"'));
    const source = await meshMonitorModule.sources.open(ctx, made.remoteId!);
    const verifier = source.createVerifier();
    const pulled = await collect(await source.open(0));
    verifier.write(pulled);
    const checks = await verifier.finish(wholeArchiveOf(pulled));
    const failed = checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(['Table nodes']);
    expect(failed[0]!.detail).toContain(createHash('sha256').update(text.replace('"nodeNum"', '"nodeNun"')).digest('hex'));
  });
});

describe('SSH only: list and pull from system-backups', () => {
  it('lists the directories (also ones MeshMonitor does not list) and streams one as a verified tar.gz', async () => {
    const ctx = context(sshOnlyInst);
    expect(meshMonitorModule.capabilities(sshOnlyInst)).toMatchObject({ trigger: false, pull: true, restore: true });
    // A directory copied in by hand: on disk, but not in MeshMonitor's history-driven list.
    await run('tar', ['-xzf', SAMPLE_ARCHIVE, '-C', mm.backupDir]);
    const apiList = await meshMonitorModule.sources.list!(context(tokenInst));
    expect(apiList.map((b) => b.id)).not.toContain(SAMPLE_DIRNAME);
    const list = await meshMonitorModule.sources.list!(ctx);
    const sample = list.find((b) => b.id === SAMPLE_DIRNAME)!;
    expect(sample).toMatchObject({ createdAt: '2026-11-23T13:17:19.259Z', sizeBytes: 42415 });
    expect(sample.details).toMatchObject({ tables: '20', schemaVersion: '21', appVersion: '4.15.1' });
    // Times are the metadata's, newest first.
    const times = list.map((b) => Date.parse(b.createdAt!));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // Directories MeshMonitor's list does not show (the restored history dropped them) are found too.
    expect(list.map((b) => b.id)).toEqual(expect.arrayContaining(await backupDirs()));
    const source = await meshMonitorModule.sources.open(ctx, SAMPLE_DIRNAME);
    expect(source.sidecars.map((s) => s.name)).toEqual(['metadata.json']);
    const verifier = source.createVerifier();
    const bytes = await collect(await source.open(0));
    verifier.write(bytes);
    expect((await verifier.finish(wholeArchiveOf(bytes))).every((c) => c.ok)).toBe(true);
    // GNU tar reads the SFTP-built archive: 21 regular members <dirname>/<file>, no directory entries, as MeshMonitor's download.
    const file = path.join(tmp, 'ssh-pull.tar.gz');
    await writeFile(file, bytes);
    const listing = (await run('tar', ['-tzf', file])).stdout.split('\n').filter(Boolean);
    expect(listing).toHaveLength(21);
    expect(listing).toEqual((await run('tar', ['-tzf', SAMPLE_ARCHIVE])).stdout.split('\n').filter(Boolean));
  });
});

describe('preview', () => {
  it('describes the real 4.15.1 sample: 20 tables, 225 rows, what is missing and what a restore wipes', async () => {
    const report = await preview(SAMPLE_ARCHIVE);
    expect(report.integrity.ok).toBe(true);
    expect(report.appVersion).toBe('4.15.1');
    expect(report.createdAt).toBe('2026-11-23T13:17:19.259Z');
    expect(report.contents.rows).toHaveLength(20);
    expect(report.contents.rows.reduce((sum, r) => sum + Number(r.rows), 0)).toBe(225);
    expect(report.contents.rows.find((r) => r.table === 'users')?.rows).toBe(2);
    expect(report.selectable).toHaveLength(20);
    expect(report.selectable[0]).toBe('sources');
    // The 50 of a fresh database and upgrade_history, which the real server has after a restart; "at least" these.
    expect(report.notIncluded[0]).toMatch(/^At least these 51 tables/);
    expect(report.notIncluded.slice(1)).toHaveLength(51);
    expect(report.notIncluded).toContain('api_tokens');
    expect(report.notIncluded).toContain('upgrade_history');
    expect(report.warnings.join('\n')).toMatch(/only 20 of about 71 tables/);
    expect(report.warnings.join('\n')).toMatch(/api_tokens/);
    expect(report.summary).toContainEqual({ label: 'Schema version', value: '21' });
    const raw = (await run('tar', ['-xzOf', SAMPLE_ARCHIVE, `${SAMPLE_DIRNAME}/metadata.json`])).stdout;
    expect(report.sidecars).toEqual([{ name: 'metadata.json', text: raw }]);
  });

  it('reads the archive once: verification, counts and metadata.json come from one pass', async () => {
    let opens = 0;
    const counted: ArchiveAccess = { ...fileArchive(SAMPLE_ARCHIVE), open: async () => (opens++, createReadStream(SAMPLE_ARCHIVE)) };
    const report = await meshMonitorModule.format.preview(counted, formatContext(stepContext()));
    expect(opens).toBe(1);
    expect(report.integrity.ok).toBe(true);
    expect(report.sidecars.map((s) => s.name)).toEqual(['metadata.json']);
  });
});

describe('restore', () => {
  it('refuses (preflight) an archive whose schema is newer than the target', async () => {
    const newer = await editedSample('newer-schema', async (dir) => {
      const file = path.join(dir, 'metadata.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"schemaVersion": 21', '"schemaVersion": 22'));
    });
    const historyBefore = mm.rows('system_backup_history').length;
    const dirsBefore = await backupDirs();
    const { plan: p, preview: report } = await plan(passwordInst, newer, 'full');
    // A blocked plan touches nothing: no throwaway backup was made (and deleted) to count rows.
    expect(mm.rows('system_backup_history')).toHaveLength(historyBefore);
    expect(await backupDirs()).toEqual(dirsBefore);
    expect(p.preflight.find((c) => c.id === 'live-row-counts')?.detail).toMatch(/the plan is blocked/);
    // metadata.json is not checksummed: the tables still verify, only the schema check fails.
    expect(report.integrity.checks.find((c) => c.name === 'Table checksums')?.ok).toBe(true);
    const schema = p.preflight.find((c) => c.name === 'Schema version');
    expect(schema).toMatchObject({ ok: false, blocking: true });
    expect(schema?.detail).toMatch(/archive 22 is newer than the target's 21/);
    expect(p.blocked).toBe(true);
    const before = restarts.length;
    await expect(meshMonitorModule.restore!.run(restoreContext(passwordInst), { plan: p, archive: fileArchive(newer), preview: report })).rejects.toMatchObject({
      code: 'PREFLIGHT_FAILED',
    });
    expect(restarts.length).toBe(before);
  });

  it("the plan reads the live database's table list over SSH and names what the restore leaves alone", async () => {
    // The fake keeps its schema in a real SQLite file, as the server does; a newer server has a table no list knows.
    await run('sqlite3', [path.join(dataDir, 'meshmonitor.db'), 'CREATE TABLE IF NOT EXISTS lifeboat_unknown_feature (id INTEGER PRIMARY KEY);']);
    const live = (await run('sqlite3', ['-readonly', path.join(dataDir, 'meshmonitor.db'), "SELECT name FROM sqlite_master WHERE type = 'table'"])).stdout
      .split('\n').filter(Boolean);
    const { plan: full, preview: report } = await plan(sshOnlyInst, SAMPLE_ARCHIVE, 'full');
    const leftOut = full.preflight.find((c) => c.id === 'tables-left-out');
    expect(leftOut).toMatchObject({ ok: true, blocking: false });
    const named = (leftOut!.detail.split(': ').pop() ?? '').split(', ');
    expect(named.sort()).toEqual(live.filter((t) => !report.selectable.includes(t)).sort());
    expect(named).toContain('lifeboat_unknown_feature');
    expect(leftOut!.detail).toContain(`the live database has ${live.length} tables (read over SSH)`);

    const { plan: selective } = await plan(sshOnlyInst, SAMPLE_ARCHIVE, 'selective', ['nodes']);
    const selectiveLeft = selective.preflight.find((c) => c.id === 'tables-left-out')!.detail;
    expect(selectiveLeft).toContain('the restore replaces 1 and leaves');
    expect(selectiveLeft).toMatch(/: .*\bsettings\b/);
  });

  it('without a readable live list the plan says "at least these" and why', async () => {
    const broken = await add({
      name: 'mesh no sqlite',
      app: 'meshmonitor',
      ssh: sshOnlyInst.ssh!,
      settings: { ...sshOnlyInst.settings, tableListCommand: 'sqlite3 -readonly {dataDir}/no-such.db .tables' },
    });
    const { plan: p } = await plan(broken, SAMPLE_ARCHIVE, 'full');
    const leftOut = p.preflight.find((c) => c.id === 'tables-left-out')!;
    expect(leftOut).toMatchObject({ ok: false, blocking: false });
    expect(leftOut.detail).toMatch(/^at least these 51 tables stay as they are/);
    expect(leftOut.detail).toMatch(/The live list could not be read: the table list command exited 1: .+\.$/);
    expect(leftOut.detail).not.toContain('lifeboat_unknown_feature');
    expect(p.blocked).toBe(false);
    const { plan: httpsOnly } = await plan(tokenInst, SAMPLE_ARCHIVE, 'full');
    expect(httpsOnly.preflight.find((c) => c.id === 'tables-left-out')?.detail).toMatch(/could not be read: there is no SSH connection to the host\.$/);
  });

  it('cancelling during the upload (before the point of no return) leaves the target untouched', async () => {
    const { plan: p, preview: report } = await plan(passwordInst, SAMPLE_ARCHIVE, 'full');
    expect(p.blocked, JSON.stringify(p.preflight)).toBe(false);
    const dirsBefore = await backupDirs();
    const settingsBefore = JSON.stringify(mm.rows('settings'));
    const before = restarts.length;
    const controller = new AbortController();
    const step = stepContext(controller.signal, (phase, bytes) => {
      if (phase === 'upload' && (bytes ?? 0) > 0) controller.abort();
    });
    const ctx = restoreContext(passwordInst, step);
    await expect(meshMonitorModule.restore!.run(ctx, { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(ctx.points).toEqual([]);
    expect(restarts.length).toBe(before);
    expect(await backupDirs()).toEqual(dirsBefore);
    expect(JSON.stringify(mm.rows('settings'))).toBe(settingsBefore);
  });

  it('full restore round trip: upload, restart with RESTORE_FROM_BACKUP, success line, verified row counts', async () => {
    // Change live data first: backup settings (settings table) and history rows.
    const api = context(passwordInst);
    await meshMonitorModule.sources.trigger!(api);
    const settingsRowsBefore = mm.rows('settings').length;
    const { plan: p, preview: report } = await plan(passwordInst, SAMPLE_ARCHIVE, 'full');
    expect(p.blocked, JSON.stringify(p.preflight)).toBe(false);
    expect(p.changes).toHaveLength(20);
    const history = p.changes.find((c) => c.item === 'system_backup_history');
    expect(history).toMatchObject({ action: 'replace', archive: 0 });
    expect(history!.live).toBeGreaterThan(0);
    expect(p.changes.find((c) => c.item === 'users')).toMatchObject({ live: 2, archive: 2 });
    expect(p.steps.join('\n')).toMatch(/api_tokens/);

    const ctx = restoreContext(passwordInst);
    const dirsBefore = await backupDirs();
    await meshMonitorModule.restore!.run(ctx, { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    expect(ctx.points).toHaveLength(1);
    const added = (await backupDirs()).filter((d) => !dirsBefore.includes(d));
    expect(added).toHaveLength(1);
    expect(restarts.at(-1)).toBe(added[0]);
    const log = await readFile(mm.logFile, 'utf8');
    expect(findRestoreOutcome(log, added[0]!)).toMatchObject({ state: 'succeeded', tables: 20, rows: 225 });
    // The original directory is untouched; the restored copy carries the sample's metadata.json byte for byte.
    expect(await readFile(path.join(mm.backupDir, added[0]!, 'metadata.json'), 'utf8')).toBe(
      (await run('tar', ['-xzOf', SAMPLE_ARCHIVE, `${SAMPLE_DIRNAME}/metadata.json`])).stdout,
    );
    expect(mm.rows('system_backup_history')).toEqual([]);
    // The FK cascade from users deleted the API token: Lifeboat's token installation is locked out, and says why.
    expect(mm.rows('api_tokens').filter((t) => t.is_active === 1)).toEqual([]);
    await expect(meshMonitorModule.sources.list!(context(tokenInst))).rejects.toThrow(/restore of the users table deletes every API token/);
    expect(mm.rows('settings').length).not.toBe(0);
    expect(settingsRowsBefore).toBeGreaterThan(0);

    const checks = await meshMonitorModule.restore!.verify(context(passwordInst), { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    expect(checks.every((c) => c.ok), JSON.stringify(checks, null, 1)).toBe(true);
    expect(checks.find((c) => c.name === 'Server log')?.detail).toMatch(/System restore completed: 20 tables, 225 rows/);
    expect(checks.filter((c) => c.name.startsWith('Rows of '))).toHaveLength(20);
    expect(p.followUps).toEqual([]);
  });

  it("after a restore that deleted the token: counts by password when the installation has one, else says the check could not run (not a failure)", async () => {
    const { plan: p, preview: report } = await plan(tokenSshInst, SAMPLE_ARCHIVE, 'full');
    expect(p.followUps.join(' ')).toMatch(/new API token/);
    // The round trip before this test deleted every API token, as a real restore of users does.
    const tokenOnly = await meshMonitorModule.restore!.verify(context(tokenSshInst), { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    const counts = tokenOnly.find((c) => c.id === 'row-counts');
    expect(counts).toMatchObject({ ok: false, skipped: expect.stringMatching(/deleted the API token/), renewSecret: { slot: 'api-token' } });
    expect(tokenOnly.filter((c) => !c.ok && !c.skipped), JSON.stringify(tokenOnly, null, 1)).toEqual([]);
    const withPassword = await meshMonitorModule.restore!.verify(context(tokenAndPasswordInst), { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    expect(withPassword.every((c) => c.ok), JSON.stringify(withPassword, null, 1)).toBe(true);
    expect(withPassword.filter((c) => c.name.startsWith('Rows of '))).toHaveLength(20);
  });

  it('selective restore of 2 tables: a fresh metadata.json naming only them, other tables untouched', async () => {
    const api = context(passwordInst);
    await meshMonitorModule.sources.trigger!(api);
    expect(mm.rows('system_backup_history').length).toBeGreaterThan(0);
    const auditBefore = mm.rows('audit_log').length;
    const { plan: p, preview: report } = await plan(passwordInst, SAMPLE_ARCHIVE, 'selective', ['nodes', 'system_backup_history']);
    expect(p.blocked, JSON.stringify(p.preflight)).toBe(false);
    expect(p.changes.map((c) => c.item)).toEqual(['nodes', 'system_backup_history']);
    const dirsBefore = await backupDirs();
    await meshMonitorModule.restore!.run(restoreContext(passwordInst), { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    const added = (await backupDirs()).filter((d) => !dirsBefore.includes(d));
    expect(added).toHaveLength(1);
    const dir = path.join(mm.backupDir, added[0]!);
    expect((await readdir(dir)).sort()).toEqual(['metadata.json', 'nodes.json', 'system_backup_history.json']);
    const metadata = JSON.parse(await readFile(dir + '/metadata.json', 'utf8')) as { tables: string[]; tableCount: number; checksums: Record<string, string> };
    expect(metadata).toMatchObject({ tables: ['nodes', 'system_backup_history'], tableCount: 2 });
    expect(metadata.checksums.nodes).toBe(createHash('sha256').update(await readFile(path.join(dir, 'nodes.json'))).digest('hex'));
    expect(findRestoreOutcome(await readFile(mm.logFile, 'utf8'), added[0]!)).toMatchObject({ state: 'succeeded', tables: 2, rows: 1 });
    expect(mm.rows('system_backup_history')).toEqual([]);
    // audit_log was not restored: it kept its rows and gained the restore's own entries.
    expect(mm.rows('audit_log').length).toBeGreaterThan(auditBefore);
    const checks = await meshMonitorModule.restore!.verify(context(passwordInst), { plan: p, archive: fileArchive(SAMPLE_ARCHIVE), preview: report });
    expect(checks.every((c) => c.ok), JSON.stringify(checks, null, 1)).toBe(true);
    expect(checks.filter((c) => c.name.startsWith('Rows of ')).map((c) => c.name)).toEqual(['Rows of nodes', 'Rows of system_backup_history']);
  });

  it('a restore MeshMonitor rolls back (unknown column, checksum fixed) fails with RESTORE_FAILED and the server reason', async () => {
    const bogus = await editedSample('bogus-column', addUnknownNodeColumn);
    const { plan: p, preview: report } = await plan(sshOnlyInst, bogus, 'full');
    expect(p.blocked, JSON.stringify(p.preflight)).toBe(false);
    const error = await meshMonitorModule.restore!.run(restoreContext(sshOnlyInst), { plan: p, archive: fileArchive(bogus), preview: report }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RESTORE_FAILED' });
    expect((error as LifeboatError).message).toContain('table nodes has no column named bogusColumn');
    expect(restarts.at(-1)).toMatch(/^\d{4}-\d{2}-\d{2}_\d{6}$/);
  });
});

describe('login rate limit', () => {
  // Last: once the limiter trips, every login from this address is refused until the fake restarts.
  it('a 429 from the login limiter surfaces as HTTP_RATE_LIMITED with the time to wait', async () => {
    const errors: unknown[] = [];
    for (let i = 0; i < 6; i++) errors.push(await meshMonitorModule.sources.list!(context(wrongPasswordInst)).catch((e: unknown) => e));
    const codes = errors.map((e) => (e as LifeboatError).code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('HTTP_AUTH_FAILED'));
    expect(codes[5]).toBe('HTTP_RATE_LIMITED');
    expect((errors[5] as LifeboatError).message).toMatch(/try again in 15 min \(\d+ s\)/);
  });
});

describe('restore log parsing', () => {
  it('reads each run of the real restore-log excerpts', async () => {
    const text = await readFile(EXCERPTS, 'utf8');
    const section = (name: string): string => text.split(/^=== /m).find((s) => s.startsWith(name))!;
    expect(findRestoreOutcome(section('server2-restore.log'), SAMPLE_DIRNAME)).toMatchObject({ state: 'succeeded', tables: 20, rows: 225 });
    expect(findRestoreOutcome(section('server-restore-2026-01-01_000000.log'), '2026-01-01_000000')).toMatchObject({
      state: 'failed',
      reason: 'Backup validation failed: Checksum mismatch for table: settings',
    });
    expect(findRestoreOutcome(section('server-restore-2026-01-02_000000.log'), '2026-01-02_000000')).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('Backup schema version (22) is newer than current version (21)'),
    });
    expect(findRestoreOutcome(section('server-restore-2099-09-09_090909.log'), '2099-09-09_090909')).toMatchObject({
      state: 'failed',
      reason: 'Backup directory not found: 2099-09-09_090909',
    });
    expect(findRestoreOutcome(section('server-restore-bogus.log'), '2026-01-03_000000')).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('table nodes has no column named bogusColumn'),
    });
    // Another backup's lines do not count.
    expect(findRestoreOutcome(section('server2-restore.log'), '2026-01-01_000000')).toEqual({ state: 'pending' });
  });
});
