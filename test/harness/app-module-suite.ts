// The conformance suite every app module runs (as restic runs one backend test suite against
// each backend): detection of its own samples and refusal of the other apps', the settings
// schema, preview of each sample, and against its test-fleet member list → pull (verified, once)
// → quarantine → resume of a cut transfer → plan → restore → verify, and session disposal.
import { createReadStream, readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuarantineEntry, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { Installation, InstallationInput } from '../../src/shared/installations';
import type { JobRecord } from '../../src/shared/jobs';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { listsBackups, type AppModule } from '../../src/main/apps/module';
import type { PullResult } from '../../src/main/apps/pull-runner';
import { APP_MODULES, AppRegistry } from '../../src/main/apps/registry';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { breakable } from './breakable-module';
import { formatContext } from './format-context';
import { makeTestHome } from './home';
import { until } from './wait';

const FIXTURES = path.resolve('test/fixtures');

/** One archive as its app stores it, with the sidecars that travel with it. */
export interface Sample {
  file: string;
  sidecars?: string[];
  /** Keys the archive needs (secret slot → key), as the operator would type them: the samples' READMEs give them. */
  keys?: Record<string, string>;
}

/** The Loomio samples' BACKUP_ENCRYPTION_KEY (test/fixtures/loomio/README.md). */
const LOOMIO_SAMPLE_KEYS = { 'backup-encryption-key': 'a7863fc93a8c1c2511bbccbca8cac9dfbbae83b3ecce153db6c8e0c07f5f8cfe' };

/** DBackup's sample Encryption Profile (test/fixtures/dbackup/README.md). */
const DBACKUP_SAMPLE_KEYS = { 'encryption-key:c9df6ad5d0e212794651ce7bf': '920ce81f1f50362981876baeb0f6646a71c591cfe38d835e06cdc476873b0833' };

/**
 * Archives of every app as the app itself stores them (no decrypted reference copies), by the
 * app kind that made them; a module must not claim another kind's samples.
 */
export const SAMPLES_BY_APP: Record<string, Sample[]> = {
  weavestream: ['default-compression/weavestream-postgres-2026-11-23T13-16-59Z', 'z0-uncompressed/weavestream-postgres-2026-11-23T13-17-01Z'].map((base) => ({
    file: path.join(FIXTURES, 'weavestream', `${base}.dump`),
    sidecars: [path.join(FIXTURES, 'weavestream', `${base}.manifest.json`)],
  })),
  meshmonitor: [{ file: path.join(FIXTURES, 'meshmonitor', '2026-11-23_131719.tar.gz') }],
  // A tar.gz a site's own backup job wrote, with the .sha256 sha256sum made for it.
  directory: [{ file: path.join(FIXTURES, 'directory', 'site-001.tar.gz'), sidecars: [path.join(FIXTURES, 'directory', 'site-001.tar.gz.sha256')] }],
  nojoin: [{ file: path.join(FIXTURES, 'nojoin', 'nojoin_backup_sample.zip') }],
  loomio: ['loomio-hourly-20261123-131211.sql.enc', 'loomio_backup_20261123_131211.sql.enc'].map((name) => ({ file: path.join(FIXTURES, 'loomio', name), keys: LOOMIO_SAMPLE_KEYS })),
  dbackup: [
    { file: path.join(FIXTURES, 'dbackup', 'Loomio DB', 'Loomio_DB_2026-11-23_13-12-50.sql.gz.enc'), sidecars: [path.join(FIXTURES, 'dbackup', 'Loomio DB', 'Loomio_DB_2026-11-23_13-12-50.sql.gz.enc.meta.json')], keys: DBACKUP_SAMPLE_KEYS },
    { file: path.join(FIXTURES, 'dbackup', 'config-backups', 'config_backup_2026-11-23T13-12-50-765Z.json.gz'), sidecars: [path.join(FIXTURES, 'dbackup', 'config-backups', 'config_backup_2026-11-23T13-12-50-765Z.json.gz.meta.json')] },
  ],
};

/** A module's test-fleet member, as the suite uses it. */
export interface FleetMember {
  installation: InstallationInput;
  /**
   * Makes a new backup on the server the way the app (or its job) does; returns its remote id.
   * Absent: the module's own trigger makes one (`apps:trigger`).
   */
  freshBackup?(): Promise<string>;
  /** Damages a backup on the server so that its verification must fail. */
  corrupt(remoteId: string): Promise<void>;
  /** Before the restore: lose what the restore will bring back (a module whose restore only adds). */
  lose?(remoteId: string): Promise<void>;
  /** The restore to run on the fleet, or null when the module cannot restore there. */
  restore: { mode: string; conflict?: string; selection?: string[] } | null;
  stop(): Promise<void>;
}

/** What a module brings to the suite. */
export interface ModuleSuiteSpec {
  module: AppModule;
  /** Its own archives (detected as its own, previewed as intact). */
  samples: Sample[];
  /** A module that takes any file as a last resort (the folder of archives): it may claim others' samples, but only weakly. */
  catchAll?: boolean;
  /** A value its settings schema must refuse. */
  badSetting: { key: string; value: string };
  /** Starts its fleet member. */
  fleet(): Promise<FleetMember>;
}

/** Local file access with the sidecars read in, as a dropped file arrives. */
export async function sampleAccess(sample: Sample): Promise<ArchiveAccess> {
  const info = await stat(sample.file);
  const sidecars = await Promise.all((sample.sidecars ?? []).map(async (file) => ({ name: path.basename(file), content: await readFile(file) })));
  return { fileName: path.basename(sample.file), size: info.size, mtime: info.mtime, sidecars, open: async () => createReadStream(sample.file) };
}

/** The pack files of a core's local vault. */
function packFiles(core: Core): string[] {
  return readdirSync(path.join(core.home.vaultDir, 'data'), { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}$/.test(f)).sort();
}

/** Byte limit at which the next transfer breaks (once), armed by a test. */
let breakNextAfter: number | null = null;

/** Takes the armed limit, once. */
function takeLimit(): number | null {
  const limit = breakNextAfter;
  breakNextAfter = null;
  return limit;
}

/** Runs the whole suite for one module. */
export function describeAppModule(spec: ModuleSuiteSpec): void {
  const { module } = spec;
  const registry = new AppRegistry(APP_MODULES);

  describe(`app module ${module.kind}: conformance`, () => {
    it('detects each of its samples by content, and is the module the registry picks', async () => {
      for (const sample of spec.samples) {
        const found = await registry.detect(await sampleAccess(sample));
        expect(found.module.kind, sample.file).toBe(module.kind);
      }
    });

    it("does not claim the other apps' samples", async () => {
      for (const [kind, samples] of Object.entries(SAMPLES_BY_APP)) {
        if (kind === module.kind) continue;
        for (const sample of samples) {
          const access = await sampleAccess(sample);
          const head = await readFile(sample.file).then((b) => b.subarray(0, 64 * 1024));
          const claim = module.detect({ fileName: access.fileName, size: access.size, head, sidecars: access.sidecars });
          if (spec.catchAll) expect(claim?.confidence ?? 0, `${module.kind} on ${sample.file}`).toBeLessThanOrEqual(0.2);
          else expect(claim, `${module.kind} claims ${kind}'s ${sample.file}`).toBeNull();
          if (registry.has(kind)) expect((await registry.detect(access)).module.kind, sample.file).toBe(kind);
        }
      }
    });

    it('has a settings schema: empty settings take the defaults; an unknown key and a bad value are refused, named', () => {
      const schema = module.settings.schema;
      expect(schema.safeParse({}).success).toBe(true);
      for (const field of module.settings.fields) {
        const value = field.example ?? (field.default === null ? undefined : String(field.default));
        if (value === undefined) continue;
        expect(schema.safeParse({ [field.key]: value }).success, `${field.key} = ${value}`).toBe(true);
        expect(field.label.length).toBeGreaterThan(2);
        expect(field.help.length).toBeGreaterThan(10);
      }
      const unknown = schema.safeParse({ noSuchSetting: 'x' });
      expect(unknown.success).toBe(false);
      expect(unknown.error?.issues[0]?.path).toEqual(['noSuchSetting']);
      const bad = schema.safeParse({ [spec.badSetting.key]: spec.badSetting.value });
      expect(bad.success).toBe(false);
      expect(bad.error?.issues[0]?.path).toEqual([spec.badSetting.key]);
    });

    it('previews each sample as intact, in its own name', async () => {
      for (const sample of spec.samples) {
        const report = await module.format.preview(await sampleAccess(sample), formatContext({ signal: new AbortController().signal, progress: () => undefined, log: () => undefined }, sample.keys));
        expect(report.app).toBe(module.kind);
        expect(report.integrity.ok, JSON.stringify(report.integrity.checks)).toBe(true);
        for (const check of report.integrity.checks) {
          expect(check.id).toMatch(/^[a-z0-9][a-z0-9:._/-]*$/i);
          expect(['integrity', 'compatibility', 'target', 'selection', 'verification']).toContain(check.kind);
        }
      }
    });

    describe('against its test-fleet member', () => {
      let member: FleetMember;
      let core: Core;
      let installation: Installation;
      const client = () => createInProcessClient(core);
      const run = async <T>(started: Promise<{ jobId: string }>): Promise<{ record: JobRecord; result: T }> => {
        const record = await core.jobs.wait((await started).jobId);
        return { record, result: record.result as T };
      };
      const makeBackup = async (): Promise<string> => {
        if (member.freshBackup) return member.freshBackup();
        const { record, result } = await run<{ remoteId: string | null }>(client().call('apps:trigger', { installationId: installation.id }));
        expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
        return result.remoteId!;
      };
      const handedOut = new Set<string>();
      // A backup no earlier test has had. Some apps name a backup by the second it was made in
      // (MeshMonitor: a second one in that second overwrites it), so on a fast machine the next
      // test could get the name the vault already holds: make backups until a new name comes.
      const freshBackup = async (): Promise<string> => {
        let made = await makeBackup();
        if (handedOut.has(made)) {
          await until(async () => !handedOut.has((made = await makeBackup())), `${module.kind} to make a backup under a new name`, 60_000, 200);
        }
        handedOut.add(made);
        return made;
      };

      beforeAll(async () => {
        member = await spec.fleet();
        core = await createCore({ home: makeTestHome(`suite-${module.kind}`), secretStore: new MemorySecretStore(`suite ${module.kind}`), apps: new AppRegistry([breakable(module, takeLimit)]) });
        await client().call('vault:init', {});
        installation = await client().call('installations:add', member.installation);
      });

      afterAll(async () => {
        await core?.close();
        await member?.stop();
      });

      it('lists, pulls the newest verified into the vault once, and knows it is there', async () => {
        const made = await freshBackup();
        if (listsBackups(module, installation)) expect((await client().call('apps:list-remote', { installationId: installation.id })).map((b) => b.id)).toContain(made);
        const first = await run<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: made }));
        expect(first.record.status, JSON.stringify(first.record.error)).toBe('succeeded');
        expect(first.result.checks.length).toBeGreaterThan(0);
        expect(first.result.checks.every((c) => c.ok)).toBe(true);
        const again = await run<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: made }));
        expect(again.result).toMatchObject({ alreadyInVault: true, snapshotId: first.result.snapshotId });
        expect(await client().call('vault:snapshots', { installationId: installation.id })).toHaveLength(1);
      });

      it('quarantines a damaged backup and nothing enters the vault, not even a pack of its bytes', async () => {
        const made = await freshBackup();
        await member.corrupt(made);
        const before = (await client().call('vault:snapshots', {})).length;
        const packsBefore = packFiles(core);
        const { record } = await run<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: made }));
        expect(record.status).toBe('failed');
        expect(record.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
        expect(await client().call('vault:snapshots', {})).toHaveLength(before);
        expect(packFiles(core)).toEqual(packsBefore);
        const quarantined: QuarantineEntry[] = await client().call('apps:quarantine', {});
        expect(quarantined.some((q) => q.remoteId === made && q.checks.some((c) => !c.ok))).toBe(true);
      });

      it('resumes a transfer cut mid-way where the source can, else restarts it, leaving one whole snapshot', async () => {
        const made = await freshBackup();
        breakNextAfter = 1000;
        const { record, result } = await run<PullResult>(client().call('apps:pull', { installationId: installation.id, remoteId: made }));
        expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
        expect(result.resumed + result.restarts).toBe(1);
        const snapshots = await client().call('vault:snapshots', { installationId: installation.id });
        expect(snapshots.filter((s) => s.remoteId === made)).toHaveLength(1);
      });

      it('plans, restores and verifies on the fleet, with a report', async (context) => {
        if (!member.restore) return context.skip();
        const snapshot = (await client().call('vault:snapshots', { installationId: installation.id })).find((s) => s.source === 'pull');
        expect(snapshot).toBeDefined();
        await member.lose?.(snapshot!.remoteId!);
        const { result: plan } = await run<RestorePlan>(
          client().call('restore:plan', { installationId: installation.id, source: { snapshotId: snapshot!.id }, mode: member.restore.mode, ...(member.restore.conflict ? { conflict: member.restore.conflict } : {}), selection: member.restore.selection ?? [] }),
        );
        expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
        const { record, result: report } = await run<RestoreReport>(client().call('restore:start', { planId: plan.id, confirmation: installation.name }));
        expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
        expect(report).toMatchObject({ ok: true, outcome: 'verified' });
        // A safety snapshot first, unless the module says the restore destroys nothing.
        if (plan.nothingToSave) expect(report.safetyPullSkipped).toBe(plan.nothingToSave);
        else expect(report.safetySnapshotId).not.toBeNull();
        expect(report.checks.length).toBeGreaterThan(0);
      });

      it('refuses a restore scope or conflict policy the module does not offer', async () => {
        const snapshot = (await client().call('vault:snapshots', { installationId: installation.id }))[0];
        const started = await client().call('restore:plan', { installationId: installation.id, source: { snapshotId: snapshot!.id }, mode: 'no-such-scope', selection: [] });
        const record = await core.jobs.wait(started.jobId);
        expect(record.status).toBe('failed');
        expect(record.error?.code).toBe('INVALID_INPUT');
      });

      it("ends the installation's sessions when it is removed", async () => {
        let disposed = 0;
        core.sessions.storeFor(installation.id).get('suite-probe', () => ({ dispose: () => void (disposed += 1) }));
        await client().call('installations:remove', { id: installation.id });
        expect(disposed).toBe(1);
        expect(core.sessions.count(installation.id)).toBe(0);
      });
    });
  });
}
