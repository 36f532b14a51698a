// The Weavestream adapter against the real fleet member: OpenSSH sshd (SFTP, exec, forwarding),
// PostgreSQL 15, dumps by the real pg_dump, restores by the real pg_restore.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreviewReport, RestoreMode, RestorePlan } from '../../src/shared/apps';
import { LifeboatError } from '../../src/shared/errors';
import type { Installation } from '../../src/shared/installations';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { formatContext } from '../harness/format-context';
import type { ArchiveAccess, RestoreContext, Sidecar, StepContext } from '../../src/main/apps/adapter';
import { createAdapterContext, type OwnedAdapterContext } from '../../src/main/apps/context';
import { weavestreamModule as adapter } from '../../src/main/apps/weavestream';
import { parseWeavestreamManifest, serializeWeavestreamManifest } from '../../src/main/apps/weavestream/manifest';
import { makeTestHome } from '../harness/home';
import { runTool } from '../harness/sshd';
import { startWeavestreamFleet, type WeavestreamFleet } from '../fleet/weavestream/fleet';
import { WholeArchiveHasher } from '../harness/whole-archive';

const PG_BIN = '/usr/lib/postgresql/15/bin';

let fleet: WeavestreamFleet;
let core: Core;
let installation: Installation;
let workDir: string;

beforeAll(async () => {
  fleet = await startWeavestreamFleet();
  core = await createCore({ home: makeTestHome('weavestream'), secretStore: new MemorySecretStore('integration test') });
  installation = await core.registry.add(fleet.installation);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-ws-test-'));
});

afterAll(async () => {
  await core?.close();
  await fleet?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function stepContext(options: { signal?: AbortSignal; log?: (line: string) => void; progress?: StepContext['progress'] } = {}): StepContext {
  return { signal: options.signal ?? new AbortController().signal, progress: options.progress ?? (() => undefined), log: options.log ?? (() => undefined) };
}

async function withContext<T>(run: (ctx: OwnedAdapterContext) => Promise<T>, step: StepContext = stepContext()): Promise<T> {
  const ctx = createAdapterContext(core, installation, step);
  try {
    return await run(ctx);
  } finally {
    await ctx.close();
  }
}

/** Pulls a dump through openPull into a local file, running the verifier on the same bytes. */
async function pull(remoteId: string): Promise<{ file: string; sidecars: Sidecar[]; checks: Awaited<ReturnType<ReturnType<Awaited<ReturnType<typeof adapter.sources.open>>['createVerifier']>['finish']>> }> {
  return withContext(async (ctx) => {
    const source = await adapter.sources.open(ctx, remoteId);
    const verifier = source.createVerifier();
    const file = path.join(workDir, `${Date.now()}-${remoteId}`);
    const tap = new PassThrough();
    const hasher = new WholeArchiveHasher();
    tap.on('data', (chunk: Buffer) => {
      hasher.update(chunk);
      verifier.write(chunk);
    });
    await pipeline(await source.open(0), tap, createWriteStream(file));
    return { file, sidecars: source.sidecars, checks: await verifier.finish(hasher.digest()) };
  });
}

function localArchive(file: string, name: string, sidecars: Sidecar[]): ArchiveAccess {
  return { fileName: name, size: null, mtime: null, sidecars, open: async () => Readable.from(await readFile(file)) };
}

async function previewOf(archive: ArchiveAccess): Promise<PreviewReport> {
  const report = await adapter.format.preview(archive, formatContext(stepContext()));
  return { ...report, source: { kind: 'file', name: archive.fileName } };
}

async function plan(archive: ArchiveAccess, preview: PreviewReport, mode: RestoreMode, selection: string[] = []): Promise<RestorePlan> {
  const draft = await withContext((ctx) => adapter.restore!.plan(ctx, { archive, preview, mode, conflict: null, selection }));
  return {
    id: 'plan-1',
    createdAt: new Date().toISOString(),
    installationId: installation.id,
    installationName: installation.name,
    app: 'weavestream',
    source: { path: archive.fileName },
    sourceLabel: archive.fileName,
    sourceInstallationId: null,
    crossInstallation: false,
    mode,
    conflict: null,
    selection,
    followUps: draft.followUps ?? [],
    nothingToSave: draft.nothingToSave ?? null,
    preflight: draft.preflight,
    blocked: draft.preflight.some((c) => c.blocking && !c.ok),
    changes: draft.changes,
    steps: draft.steps,
    pointOfNoReturn: draft.pointOfNoReturn,
    confirmationText: installation.name,
  };
}

async function restore(input: { plan: RestorePlan; archive: ArchiveAccess; preview: PreviewReport }, hooks: { onPointOfNoReturn?: () => void; signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<string[]> {
  const passed: string[] = [];
  await withContext(async (ctx) => {
    const restoreCtx: RestoreContext = {
      ...ctx,
      passPointOfNoReturn(what) {
        passed.push(what);
        hooks.onPointOfNoReturn?.();
      },
    };
    await adapter.restore!.run(restoreCtx, input);
  }, stepContext({ ...(hooks.signal ? { signal: hooks.signal } : {}), ...(hooks.log ? { log: hooks.log } : {}) }));
  return passed;
}

async function withPg<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: '127.0.0.1', port: fleet.postgres.port, user: 'postgres', database: 'weavestream' });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Tries Weavestream's backup lock from another session; releases it at once when it got it. */
async function probeBackupLock(): Promise<{ got: boolean; lockRows: { classid: string; objid: string; objsubid: number }[] }> {
  return withPg(async (client) => {
    const lockRows = (await client.query(`SELECT classid::text, objid::text, objsubid FROM pg_locks WHERE locktype = 'advisory' AND granted`)).rows;
    const got = (await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('weavestream:backup')) AS ok`)).rows[0]?.ok === true;
    if (got) await client.query(`SELECT pg_advisory_unlock(hashtext('weavestream:backup'))`);
    return { got, lockRows };
  });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A pulled, previewed dump of the live database as it is now. */
async function freshArchive(): Promise<{ id: string; archive: ArchiveAccess; preview: PreviewReport; counts: Record<string, number> }> {
  const counts = await fleet.counts();
  const id = await fleet.exportNow();
  const pulled = await pull(id);
  const archive = localArchive(pulled.file, id, pulled.sidecars);
  return { id, archive, preview: await previewOf(archive), counts };
}

describe('Weavestream adapter over SSH', () => {
  it('lists the paired dumps newest first with manifest facts, ignoring the .tmp of a running dump', async () => {
    await fleet.writeOwnedFile(path.join(fleet.backupDir, '.weavestream-postgres-2030-01-01T00-00-00Z.dump.tmp'), 'half a dump');
    const list = await withContext((ctx) => adapter.sources.list!(ctx));
    const names = (await fleet.listBackupDir()).filter((n) => /^weavestream-postgres-.*\.dump$/.test(n)).sort().reverse();
    expect(list.map((b) => b.id)).toEqual(names);
    expect(list.length).toBeGreaterThanOrEqual(2);
    const newest = list[0]!;
    const manifest = parseWeavestreamManifest(await readFile(path.join(fleet.backupDir, newest.id.replace(/\.dump$/, '.manifest.json')), 'utf8'));
    expect(newest.sizeBytes).toBe(manifest.sizeBytes);
    expect(newest.createdAt).toBe(manifest.generatedAt);
    expect(newest.details).toMatchObject({ weavestreamVersion: '1.9.11', passwordEncryptionKid: '2', prismaMigrationHash: manifest.prismaMigrationHash, sha256: manifest.sha256 });
  });

  it('trigger runs the export command and returns the new dump, whose manifest follows Weavestream\'s rules', async () => {
    const before = await withContext((ctx) => adapter.sources.list!(ctx));
    const result = await withContext((ctx) => adapter.sources.trigger!(ctx));
    expect(result.remoteId).toMatch(/^weavestream-postgres-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.dump$/);
    expect(before.map((b) => b.id)).not.toContain(result.remoteId);
    const after = await withContext((ctx) => adapter.sources.list!(ctx));
    expect(after[0]!.id).toBe(result.remoteId);
    const text = await readFile(path.join(fleet.backupDir, result.remoteId!.replace(/\.dump$/, '.manifest.json')), 'utf8');
    const manifest = parseWeavestreamManifest(text);
    expect(serializeWeavestreamManifest(manifest)).toBe(text);
    // The shell export and the Node seeding hash the migrations alike.
    expect(manifest.prismaMigrationHash).toBe(before[0]!.details.prismaMigrationHash);
    expect(sha256(await readFile(path.join(fleet.backupDir, result.remoteId!)))).toBe(manifest.sha256);
  });

  it('pulls a dump with the streaming verifier: size, SHA-256, header, TOC and data all pass', async () => {
    const [newest] = await withContext((ctx) => adapter.sources.list!(ctx));
    const pulled = await pull(newest!.id);
    expect(pulled.checks.filter((c) => !c.ok)).toEqual([]);
    expect(pulled.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['manifest', 'size', 'sha256', 'header', 'toc', 'data']));
    expect(await readFile(pulled.file)).toEqual(await readFile(path.join(fleet.backupDir, newest!.id)));
    expect(pulled.sidecars.map((s) => s.name)).toEqual([newest!.id.replace(/\.dump$/, '.manifest.json')]);
  });

  it('a tampered byte fails the sha256 check', async () => {
    const id = await fleet.exportNow();
    const dumpPath = path.join(fleet.backupDir, id);
    const bytes = await readFile(dumpPath);
    const at = bytes.length - 200;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await fleet.writeOwnedFile(dumpPath, bytes);
    const pulled = await pull(id);
    const failed = pulled.checks.filter((c) => !c.ok).map((c) => c.id);
    expect(failed).toContain('sha256');
    expect(pulled.checks.find((c) => c.id === 'size')?.ok).toBe(true);
  });

  it('resumes after the connection is cut mid-transfer: open(offset) gives the identical remaining bytes', async () => {
    await fleet.psql(`INSERT INTO audit_log (action) SELECT 'bulk ' || md5(g::text) FROM generate_series(1, 150000) g;`);
    const id = await fleet.exportNow();
    await fleet.psql(`DELETE FROM audit_log WHERE action LIKE 'bulk %';`);
    const oracle = await readFile(path.join(fleet.backupDir, id));
    expect(oracle.length).toBeGreaterThan(1024 * 1024);

    const first: Buffer[] = [];
    let got = 0;
    const cut = await withContext(async (ctx) => {
      const source = await adapter.sources.open(ctx, id);
      expect(source.resumable).toBe(true);
      const stream = await source.open(0);
      const ended = new Promise<Error | null>((resolve) => {
        stream.on('error', resolve);
        stream.on('close', () => resolve(null));
      });
      for await (const chunk of stream) {
        first.push(chunk as Buffer);
        got += (chunk as Buffer).length;
        // Drop the whole SSH connection, as a network failure would.
        if (got >= 256 * 1024) break;
      }
      await (await ctx.ssh()).close();
      await ended;
      return got;
    });
    expect(cut).toBeLessThan(oracle.length);
    const rest = await withContext(async (ctx) => {
      const source = await adapter.sources.open(ctx, id);
      const verifier = source.createVerifier();
      const chunks: Buffer[] = [];
      const hasher = new WholeArchiveHasher();
      for (const chunk of first) {
        hasher.update(chunk);
        verifier.write(chunk);
      }
      for await (const chunk of await source.open(cut)) {
        chunks.push(chunk as Buffer);
        hasher.update(chunk as Buffer);
        verifier.write(chunk as Buffer);
      }
      expect((await verifier.finish(hasher.digest())).filter((c) => !c.ok)).toEqual([]);
      return Buffer.concat(chunks);
    });
    expect(Buffer.concat([...first, rest]).equals(oracle)).toBe(true);
  });

  it('preview reads the TOC like pg_restore --list, counts rows like the live database, and says what is not in the dump', async () => {
    const { archive, preview, counts } = await freshArchive();
    const file = path.join(workDir, 'preview-oracle.dump');
    await pipeline(await archive.open(), createWriteStream(file));
    const listing = await runTool(`${PG_BIN}/pg_restore`, ['--list', file]);
    const tocEntries = Number(/;\s+TOC Entries: (\d+)/.exec(listing)?.[1]);
    const version = /;\s+Dump Version: (\S+)/.exec(listing)?.[1];
    const listedTables = listing.split('\n').map((l) => / TABLE public (\S+) /.exec(l)?.[1]).filter((t): t is string => t !== undefined).sort();

    const fact = (label: string): string | undefined => preview.summary.find((s) => s.label === label)?.value;
    expect(Number(fact('TOC entries'))).toBe(tocEntries);
    expect(fact('Archive version')).toBe(version);
    expect(preview.contents.rows.map((r) => r.table).sort()).toEqual(listedTables);
    for (const row of preview.contents.rows) expect(row.rows).toBe(counts[row.table as string]);
    expect(preview.integrity.ok).toBe(true);
    expect(preview.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['size', 'sha256']));
    expect(fact('Weavestream version')).toBe('1.9.11');
    expect(fact('Password-encryption kid')).toBe('2');
    expect(fact('Prisma migration hash')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fact('Applied migrations in the dump')).toBe('3 (newest 0033_scheduled_backups)');
    expect(preview.notIncluded.join('\n')).toMatch(/DATA_DIR\}\/files/);
    expect(preview.notIncluded.join('\n')).toContain('PASSWORD_ENCRYPTION_KEY');
    expect(preview.sidecars[0]?.text).toBe(archive.sidecars[0]?.content.toString('utf8'));
    expect(preview.selectable).toContain('public.users');
    expect(preview.selectable).toContain('public._prisma_migrations');
  });

  it('plans a restore with live counts, and refuses a different migration level or an unknown key id', async () => {
    const { archive, preview, counts } = await freshArchive();
    const clean = await plan(archive, preview, 'full');
    expect(clean.preflight.filter((c) => !c.ok)).toEqual([]);
    expect(clean.blocked).toBe(false);
    await fleet.psql(`DELETE FROM posts WHERE id % 4 = 0;`);
    const changed = await plan(archive, preview, 'full');
    const posts = changed.changes.find((c) => c.item === 'public.posts');
    expect(posts).toMatchObject({ action: 'replace', archive: counts.posts, live: (await fleet.counts()).posts });
    expect(posts!.live).toBeLessThan(posts!.archive!);

    // The image ships other migrations: the manifest's hash differs from the target's own backups.
    const manifest = parseWeavestreamManifest(archive.sidecars[0]!.content.toString('utf8'));
    const otherHash = { ...archive, sidecars: [{ name: archive.sidecars[0]!.name, content: Buffer.from(serializeWeavestreamManifest({ ...manifest, prismaMigrationHash: `sha256:${'ab'.repeat(32)}` })) }] };
    const hashPlan = await plan(otherHash, await previewOf(otherHash), 'full');
    expect(hashPlan.blocked).toBe(true);
    expect(hashPlan.preflight.find((c) => c.id === 'migration-hash')).toMatchObject({ ok: false, blocking: true });

    // The target database has applied a migration the dump does not know.
    await fleet.psql(`INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('extra', '${'0'.repeat(64)}', now(), '0050_refresh_token_rotation', 1);`);
    try {
      const migrationPlan = await plan(archive, preview, 'full');
      expect(migrationPlan.blocked).toBe(true);
      expect(migrationPlan.preflight.find((c) => c.id === 'applied-migrations')).toMatchObject({ ok: false, blocking: true });
      expect(migrationPlan.preflight.find((c) => c.id === 'applied-migrations')!.detail).toContain('0050_refresh_token_rotation');
    } finally {
      await fleet.psql(`DELETE FROM _prisma_migrations WHERE id = 'extra';`);
    }

    // The target's .env no longer knows kid 2.
    await fleet.setKids('3', ['1']);
    try {
      const kidPlan = await plan(archive, preview, 'full');
      expect(kidPlan.blocked).toBe(true);
      expect(kidPlan.preflight.find((c) => c.id === 'password-kid')).toMatchObject({ ok: false, blocking: true });
    } finally {
      await fleet.setKids('2', ['1']);
    }
    await fleet.setKids('4', ['2', '1']);
    try {
      expect((await plan(archive, preview, 'full')).preflight.find((c) => c.id === 'password-kid')?.ok).toBe(true);
    } finally {
      await fleet.setKids('2', ['1']);
    }
  });

  it('full restore brings changed data back, holding the advisory lock throughout, and verifies', async () => {
    const { archive, preview, counts } = await freshArchive();
    const before = await fleet.psql(`SELECT name FROM users WHERE email = 'user7@example.org';`);
    await fleet.psql(`UPDATE users SET name = 'changed' WHERE email = 'user7@example.org'; DELETE FROM posts WHERE id % 3 = 0; DELETE FROM sessions;
      INSERT INTO users (email, name) VALUES ('new@example.org', 'New');`);
    const restorePlan = await plan(archive, preview, 'full');
    expect(restorePlan.blocked).toBe(false);

    // Past the point of no return, hold the dump's bytes back until the lock has been probed from another session.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let armed = false;
    let probe: Promise<Awaited<ReturnType<typeof probeBackupLock>>> | null = null;
    const gated: ArchiveAccess = {
      ...archive,
      open: async () => {
        const inner = await archive.open();
        return Readable.from((async function* () {
          if (armed) await gate;
          yield* inner;
        })());
      },
    };
    const passed = await restore({ plan: restorePlan, archive: gated, preview }, {
      onPointOfNoReturn: () => {
        armed = true;
        probe = probeBackupLock();
        probe.then(() => release(), () => release());
      },
    });
    expect(passed).toEqual(['pg_restore --clean starts dropping objects']);
    const during = await probe!;
    expect(during.got).toBe(false);
    expect(during.lockRows).toContainEqual({ classid: '4294967295', objid: '3938229892', objsubid: 1 });
    expect((await probeBackupLock()).got).toBe(true);

    expect(await fleet.counts()).toEqual(counts);
    expect(await fleet.psql(`SELECT name FROM users WHERE email = 'user7@example.org';`)).toBe(before);
    const checks = await withContext((ctx) => adapter.restore!.verify(ctx, { plan: restorePlan, archive, preview }));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual(expect.arrayContaining(['rows:public.posts', 'rows:public.users', 'prisma-migrations']));
  });

  it('selective restore of one table leaves the other tables untouched', async () => {
    const { archive, preview, counts } = await freshArchive();
    await fleet.psql(`DELETE FROM posts WHERE id % 2 = 0; UPDATE users SET name = 'kept change' WHERE email = 'user3@example.org'; DELETE FROM audit_log WHERE id % 5 = 0;`);
    const changedCounts = await fleet.counts();
    const selectivePlan = await plan(archive, preview, 'selective', ['public.posts']);
    expect(selectivePlan.preflight.filter((c) => !c.ok)).toEqual([]);
    expect(selectivePlan.changes).toEqual([{ item: 'public.posts', action: 'replace', live: changedCounts.posts, archive: counts.posts }]);
    const passed = await restore({ plan: selectivePlan, archive, preview });
    expect(passed).toHaveLength(1);
    const after = await fleet.counts();
    expect(after.posts).toBe(counts.posts);
    expect(after.audit_log).toBe(changedCounts.audit_log);
    expect(after.audit_log).toBeLessThan(counts.audit_log!);
    expect(await fleet.psql(`SELECT name FROM users WHERE email = 'user3@example.org';`)).toBe('kept change\n');
    // The sequence value came back with the rows: a new post gets an id after the restored ones.
    expect(await fleet.psql(`INSERT INTO posts (author_id, title, body) SELECT id, 't', 'b' FROM users LIMIT 1 RETURNING id > (SELECT max(id) FROM posts WHERE title <> 't');`)).toBe('t\n');
    await fleet.psql(`DELETE FROM posts WHERE title = 't';`);
    const checks = await withContext((ctx) => adapter.restore!.verify(ctx, { plan: selectivePlan, archive, preview }));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('cancelling before the point of no return leaves the target untouched and releases the lock', async () => {
    const { archive, preview } = await freshArchive();
    await fleet.psql(`DELETE FROM posts WHERE id % 7 = 0;`);
    const countsBefore = await fleet.counts();
    const restorePlan = await plan(archive, preview, 'full');
    const controller = new AbortController();
    const error = await restore({ plan: restorePlan, archive, preview }, {
      signal: controller.signal,
      log: (line) => {
        if (line.includes('advisory lock')) controller.abort();
      },
    }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(LifeboatError);
    expect((error as LifeboatError).code).toBe('CANCELLED');
    expect(await fleet.counts()).toEqual(countsBefore);
    expect((await probeBackupLock()).got).toBe(true);
  });

  it('refuses to restore while a backup holds the advisory lock', async () => {
    const { archive, preview } = await freshArchive();
    const restorePlan = await plan(archive, preview, 'full');
    await withPg(async (client) => {
      await client.query(`SELECT pg_advisory_lock(hashtext('weavestream:backup'))`);
      const busyPlan = await plan(archive, preview, 'full');
      expect(busyPlan.preflight.find((c) => c.id === 'no-backup-running')).toMatchObject({ ok: false, blocking: true });
      const error = await restore({ plan: restorePlan, archive, preview }).then(() => null, (e: unknown) => e);
      expect((error as LifeboatError).code).toBe('RESTORE_FAILED');
      expect((error as LifeboatError).message).toMatch(/advisory lock/);
    });
  });

  it('a failing pg_restore is RESTORE_FAILED with its stderr', async () => {
    const { archive, preview } = await freshArchive();
    // The first two reads (the scan) get the real dump; the one piped into pg_restore does not.
    let opened = 0;
    const broken: ArchiveAccess = { ...archive, open: async () => (++opened <= 2 ? archive.open() : Readable.from([Buffer.from('PGDMP but not really a dump at all')])) };
    const restorePlan = await plan(broken, preview, 'full');
    expect(restorePlan.blocked).toBe(false);
    const error = await restore({ plan: restorePlan, archive: broken, preview }).then(() => null, (e: unknown) => e);
    expect((error as LifeboatError).code).toBe('RESTORE_FAILED');
    expect((error as LifeboatError).message).toMatch(/pg_restore/);
  });

  it('reads the cadence from the enabled backup schedule', async () => {
    expect(await withContext((ctx) => adapter.sources.cadenceHours!(ctx))).toBe(24);
  });
});
