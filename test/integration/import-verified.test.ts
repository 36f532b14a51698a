// An import is verified as a pull is: the module that recognises the archive reads it whole and
// every check must pass before a snapshot exists. A damaged archive is refused with the reason
// (and leaves no pack behind); a file no app recognises is refused too; either enters only when
// the operator asks, tagged unverified, and the job ends with a warning.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { makeTestHome } from '../harness/home';

const SAMPLE = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
let core: Core;
const client = () => createInProcessClient(core);

function packs(): string[] {
  return readdirSync(path.join(core.home.vaultDir, 'data'), { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}$/.test(f));
}

async function importFile(file: string, allowUnverified = false) {
  const { jobId } = await client().call('vault:import', { source: { path: file }, allowUnverified });
  return core.jobs.wait(jobId);
}

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('import-verified'), secretStore: new MemorySecretStore('import verified') });
  await client().call('vault:init', {});
});

afterAll(async () => {
  await core?.close();
});

describe('lifeboat import', () => {
  it('stores an archive its module verifies, tagged with the app it recognised', async () => {
    const record = await importFile(SAMPLE);
    expect(record.status, JSON.stringify(record.error)).toBe('succeeded');
    const [snapshot] = await client().call('vault:snapshots', {});
    expect(snapshot).toMatchObject({ app: 'nojoin', unverified: false, source: 'import' });
  });

  it('refuses a damaged archive with the member that failed, and leaves no pack of it', async () => {
    const damaged = path.join(core.home.root, 'nojoin_backup_damaged.zip');
    const bytes = Buffer.from(readFileSync(SAMPLE));
    bytes[200] = bytes[200]! ^ 0xff;
    writeFileSync(damaged, bytes);
    const before = packs();
    const record = await importFile(damaged);
    expect(record.status).toBe('failed');
    expect(record.error?.code).toBe('ARCHIVE_VERIFY_FAILED');
    expect(record.error?.message).toMatch(/users\.json|CRC/);
    expect(record.error?.message).toContain('Nothing entered the vault');
    expect(packs()).toEqual(before);
    expect(await client().call('vault:snapshots', {})).toHaveLength(1);
  });

  it('refuses a file no app recognises, unless asked; then it is stored marked unverified, with a warning', async () => {
    const random = path.join(core.home.root, 'random.bin');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    const refused = await importFile(random);
    expect(refused.status).toBe('failed');
    expect(refused.error?.message).toMatch(/cannot be verified \(no app module recognises random\.bin\); nothing entered the vault/);
    const stored = await importFile(random, true);
    expect(stored.status).toBe('succeeded-with-warnings');
    expect(stored.warnings.join(' ')).toContain('stored UNVERIFIED');
    const snapshot = (await client().call('vault:snapshots', {})).find((s) => s.archive?.name === 'random.bin');
    expect(snapshot).toMatchObject({ unverified: true, app: null });
    expect(snapshot!.tags).toContain('unverified');
  });
});
