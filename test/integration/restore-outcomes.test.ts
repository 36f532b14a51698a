// What a restore's outcome says, decided by the generic engine from the module's verification:
// every check passed → verified (job succeeded); a check that could not run → unverified (job
// succeeded-with-warnings, the report says why); a failed check → the job fails with
// RESTORE_VERIFY_FAILED, and the report is kept and stored. A module of this test stands in for
// an app, so only the engine is under test; the vault is real.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrityCheck, RestorePlan, RestoreReport } from '../../src/shared/apps';
import type { AuditEntry } from '../../src/shared/audit';
import type { AppModule } from '../../src/main/apps/module';
import { AppRegistry } from '../../src/main/apps/registry';
import { directoryModule } from '../../src/main/apps/directory';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { makeTestHome } from '../harness/home';

let verdict: IntegrityCheck[] = [];
const ran: string[] = [];

/** The folder module, but its restore only records that it ran and its verification says `verdict`. */
const stand: AppModule = {
  ...directoryModule,
  kind: 'stand-in',
  label: 'Stand-in',
  detect: () => null,
  format: { preview: async (archive, ctx) => ({ ...(await directoryModule.format.preview(archive, ctx)), app: 'stand-in' }) },
  capabilities: (installation) => ({ ...directoryModule.capabilities(installation), restore: true }),
  sources: {
    open: async () => {
      throw new Error('not pulled in this test');
    },
    async safetyCopy() {
      const bytes = Buffer.from('the state before the restore\n');
      return {
        remoteId: 'live',
        fileName: 'live-state.txt',
        size: bytes.length,
        mtime: new Date(),
        sidecars: [],
        groupPath: '/stand-in',
        resumable: false,
        open: async () => Readable.from([bytes]),
        createVerifier: () => ({ write: () => undefined, finish: async () => [{ id: 'copied', kind: 'integrity', name: 'Copied', ok: true, detail: 'whole' }] }),
      };
    },
  },
  restore: {
    plan: async () => ({ preflight: [], changes: [{ item: 'everything', action: 'replace', live: 1, archive: 1 }], steps: ['Put it back'], pointOfNoReturn: 'putting it back' }),
    run: async (ctx) => {
      ctx.passPointOfNoReturn('putting it back');
      ran.push('run');
    },
    verify: async () => verdict,
  },
};

let core: Core;
let archive: string;
let installationId: string;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('restore-outcomes'), secretStore: new MemorySecretStore('restore outcomes'), apps: new AppRegistry([stand]) });
  await createInProcessClient(core).call('vault:init', {});
  const installation = await createInProcessClient(core).call('installations:add', { name: 'Target', app: 'stand-in', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: { directory: '/srv' } });
  installationId = installation.id;
  archive = path.join(core.home.root, 'archive.tar.gz');
  await writeFile(archive, 'an archive\n');
});

afterAll(async () => {
  await core?.close();
});

async function restoreWith(checks: IntegrityCheck[]) {
  verdict = checks;
  const client = createInProcessClient(core);
  const planned = await core.jobs.wait((await client.call('restore:plan', { installationId, source: { path: archive }, mode: 'full', selection: [] })).jobId);
  const plan = planned.result as RestorePlan;
  expect(plan.blocked, JSON.stringify(plan.preflight)).toBe(false);
  const record = await core.jobs.wait((await client.call('restore:start', { planId: plan.id, confirmation: 'Target' })).jobId);
  const stored = await client.call('restore:report', { planId: plan.id });
  return { record, report: record.result as RestoreReport | null, stored };
}

const lastAudit = async (): Promise<AuditEntry> => (await createInProcessClient(core).call('audit:list', { limit: 1 }))[0]!;

describe('the outcome of a restore', () => {
  it('is verified, and the job succeeded, when every check passed', async () => {
    const { record, report } = await restoreWith([{ id: 'rows', kind: 'verification', name: 'Rows', ok: true, detail: '3 = 3' }]);
    expect(record.status).toBe('succeeded');
    expect(report).toMatchObject({ ok: true, outcome: 'verified' });
    expect((await lastAudit()).outcome).toBe('succeeded');
  });

  it('is "restored, verification incomplete" — a warning, not a success or a failure — when a check could not run', async () => {
    const { record, report } = await restoreWith([
      { id: 'health', kind: 'verification', name: 'Health', ok: true, detail: 'answers' },
      { id: 'rows', kind: 'verification', name: 'Row counts', ok: false, detail: 'not counted', skipped: 'the restore removed the API token Lifeboat uses' },
    ]);
    expect(record.status).toBe('succeeded-with-warnings');
    expect(record.warnings).toEqual(['Row counts could not be checked: the restore removed the API token Lifeboat uses']);
    expect(report).toMatchObject({ ok: false, outcome: 'unverified' });
    expect((await lastAudit()).outcome).toBe('succeeded-with-warnings');
  });

  it('fails the job with RESTORE_VERIFY_FAILED when a check failed, keeping and storing the report', async () => {
    const { record, report, stored } = await restoreWith([{ id: 'rows', kind: 'verification', name: 'Rows of users', ok: false, detail: '2 live, 3 in the archive' }]);
    expect(record.status).toBe('failed');
    expect(record.error).toMatchObject({ code: 'RESTORE_VERIFY_FAILED', message: expect.stringContaining('Rows of users (2 live, 3 in the archive)') });
    expect(report).toMatchObject({ ok: false, outcome: 'verification-failed' });
    expect(stored).toMatchObject({ ok: false, outcome: 'verification-failed', safetySnapshotId: expect.any(String) });
    expect((await lastAudit()).outcome).toBe('failed');
    expect(ran).toHaveLength(3);
  });

  it('turns the fleet row into "store a new token" when the restore made the secret worthless, until one is stored', async () => {
    const { record } = await restoreWith([
      { id: 'rows', kind: 'verification', name: 'Row counts', ok: false, detail: 'not counted', skipped: 'the restore removed the API token Lifeboat uses', renewSecret: { slot: 'api-token', label: 'API token' } },
    ]);
    expect(record.status).toBe('succeeded-with-warnings');
    const id = record.installationId!;
    expect(core.statuses.get(id)).toMatchObject({ state: 'auth-failed', message: "The restore removed Lifeboat's API token: store a new one.", action: { kind: 'renew-secret', slot: 'api-token' } });
    await createInProcessClient(core).call('installations:update', { id, changes: { name: 'Target', app: 'stand-in', ssh: { host: '127.0.0.1', auth: 'agent' }, settings: { directory: '/srv' }, secrets: { 'api-token': 'a-new-token' } } });
    expect(core.statuses.get(id)).toMatchObject({ state: 'unknown', message: 'A new API token is stored; test the connection.' });
    expect(core.statuses.get(id)?.action).toBeUndefined();
  });
});
