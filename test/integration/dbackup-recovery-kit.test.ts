// Keys from kits, through the built `lifeboat` command as an operator runs it: DBackup's own
// Recovery Kit ZIP (preview --key-file, import-keys into an installation's keychain slots, a ZIP
// that is no kit), and Lifeboat's combined recovery kit (vault + every app key, an age file):
// decrypted by the real `age` tool, its README's commands run by hand against the samples, and
// imported on a clean Lifeboat (fresh data dir, fresh keychain) that then opens the vault and
// previews a DBackup and a Loomio archive with nothing but the kit.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestHome } from '../harness/home';
import { testSecret } from '../harness/secrets';
import { writeRawZip } from '../fleet/nojoin/zip-tools';
import { SAMPLES, SAMPLES_DIR } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID } from '../fleet/dbackup/writer';
import { LOOMIO_SAMPLES } from '../fleet/loomio/samples';

const cli = path.resolve('bin/lifeboat.mjs');
const hasAge = spawnSync('age', ['--version']).status === 0 && spawnSync('script', ['--version']).status === 0;

let work: string;
let dbFile: string;
let loomioFile: string;

function lifeboat(home: string, args: string[], input = '') {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(run: ReturnType<typeof lifeboat>): string {
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

beforeAll(() => {
  work = makeTestHome('kit-files');
  dbFile = path.join(work, SAMPLES.singleDb.fileName);
  copyFileSync(path.join(SAMPLES_DIR, SAMPLES.singleDb.relative), dbFile);
  copyFileSync(path.join(SAMPLES_DIR, `${SAMPLES.singleDb.relative}.meta.json`), `${dbFile}.meta.json`);
  loomioFile = path.join(work, LOOMIO_SAMPLES.v1Name);
  copyFileSync(path.join(LOOMIO_SAMPLES.dir, LOOMIO_SAMPLES.v1Name), loomioFile);
});

describe("DBackup's Recovery Kit ZIP", () => {
  const other = 'cd'.repeat(32);
  let home: string;
  beforeAll(() => {
    home = makeTestHome('kit-zip');
    writeFileSync(path.join(work, 'recovery_kit_primary.zip'), writeRawZip([{ name: 'master.key', data: SAMPLE_KEY_HEX }, { name: 'README.txt', data: 'DBackup recovery kit' }, { name: 'dbackup-recover.js', data: '// tool' }]));
    writeFileSync(path.join(work, 'recovery_kit_2_profiles.zip'), writeRawZip([
      { name: 'keys/keys.json', data: JSON.stringify({ version: 1, keys: [{ profileId: SAMPLE_PROFILE_ID, name: 'Primary', file: 'primary.key' }, { profileId: 'offsite', name: 'Offsite', file: 'offsite.key' }] }) },
      { name: 'keys/primary.key', data: SAMPLE_KEY_HEX },
      { name: 'keys/offsite.key', data: other },
    ]));
    writeFileSync(path.join(work, 'recovery_kit_offsite.zip'), writeRawZip([{ name: 'keys/keys.json', data: JSON.stringify({ version: 1, keys: [{ profileId: 'offsite', name: 'Offsite', file: 'offsite.key' }] }) }, { name: 'keys/offsite.key', data: other }]));
    writeFileSync(path.join(work, 'photos.zip'), writeRawZip([{ name: 'IMG_0001.jpg', data: 'not a key' }]));
  });

  it('preview --key-file: a one-profile kit opens a file of no installation (its master.key paired with the profile the sidecar names)', () => {
    const without = lifeboat(home, ['preview', dbFile]);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain('KEY_REQUIRED');
    const report = JSON.parse(ok(lifeboat(home, ['--json', 'preview', dbFile, '--key-file', path.join(work, 'recovery_kit_primary.zip')]))) as { integrity: { ok: boolean; checks: { name: string; ok: boolean }[] }; contents: { rows: { table?: string }[] } };
    expect(report.integrity.ok).toBe(true);
    expect(report.integrity.checks.find((c) => c.name === 'AES-256-GCM authentication tag')?.ok).toBe(true);
    expect(report.contents.rows.map((r) => r.table)).toEqual(expect.arrayContaining(['users', 'discussions', 'comments']));
    // Kept for that command only: the next one asks again.
    expect(lifeboat(home, ['preview', dbFile]).stderr).toContain('KEY_REQUIRED');
  });

  it('a ZIP that is no kit, and a kit without the profile the file needs, are refused by name', () => {
    const photos = lifeboat(home, ['preview', dbFile, '--key-file', path.join(work, 'photos.zip')]);
    expect(photos.status).toBe(2);
    expect(photos.stderr).toContain('Not a DBackup Recovery Kit: it holds neither master.key nor keys/keys.json');
    const notZip = lifeboat(home, ['preview', dbFile, '--key-file', `${dbFile}.meta.json`]);
    expect(notZip.status).toBe(2);
    expect(notZip.stderr).toContain('Not a DBackup Recovery Kit: it is not a ZIP file');
    const offsite = lifeboat(home, ['preview', dbFile, '--key-file', path.join(work, 'recovery_kit_offsite.zip')]);
    expect(offsite.stderr).toContain('holds master key of DBackup encryption profile Offsite (offsite), not the master key of DBackup encryption profile c9df6ad5d0e212794651ce7bf');
  });

  it('import-keys stores every profile of a kit in the installation\'s keychain slots; previews then need no key', () => {
    ok(lifeboat(home, ['installations', 'add', '--name', 'dbackup-kit', '--app', 'dbackup', '--https-url', 'https://127.0.0.1:9']));
    const refused = lifeboat(home, ['import-keys', path.join(work, 'recovery_kit_primary.zip'), '--installation', 'dbackup-kit']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('without saying which profile');
    const imported = JSON.parse(ok(lifeboat(home, ['--json', 'import-keys', path.join(work, 'recovery_kit_2_profiles.zip'), '--installation', 'dbackup-kit']))) as { kept: string; keys: { slot: string }[] };
    expect(imported.kept).toBe('keychain');
    expect(imported.keys.map((k) => k.slot)).toEqual([`encryption-key:${SAMPLE_PROFILE_ID}`, 'encryption-key:offsite']);
    const [installation] = JSON.parse(ok(lifeboat(home, ['--json', 'installations', 'list']))) as { secretPurposes: string[] }[];
    expect(installation!.secretPurposes).toEqual(expect.arrayContaining([`encryption-key:${SAMPLE_PROFILE_ID}`, 'encryption-key:offsite']));
    expect(readFileSync(path.join(home, 'installations.json'), 'utf8')).not.toContain(SAMPLE_KEY_HEX);
    const report = JSON.parse(ok(lifeboat(home, ['--json', 'preview', dbFile, '--installation', 'dbackup-kit']))) as { integrity: { ok: boolean } };
    expect(report.integrity.ok).toBe(true);
    // The one-profile kit goes in when the profile is named.
    const named = JSON.parse(ok(lifeboat(home, ['--json', 'import-keys', path.join(work, 'recovery_kit_primary.zip'), '--installation', 'dbackup-kit', '--profile', 'primary']))) as { keys: { slot: string }[] };
    expect(named.keys.map((k) => k.slot)).toEqual(['encryption-key:primary']);
  });
});

describe("Lifeboat's combined recovery kit", () => {
  const passphrase = testSecret('kit-passphrase');
  let homeA: string;
  let kitFile: string;
  let snapshots: { id: string; app: string }[];

  beforeAll(() => {
    homeA = makeTestHome('kit-maker');
    ok(lifeboat(homeA, ['vault', 'init']));
    ok(lifeboat(homeA, ['installations', 'add', '--name', 'DBackup prod', '--app', 'dbackup', '--https-url', 'https://127.0.0.1:9']));
    ok(lifeboat(homeA, ['installations', 'edit', 'DBackup prod', '--secret-stdin', `encryption-key:${SAMPLE_PROFILE_ID}`], SAMPLE_KEY_HEX));
    ok(lifeboat(homeA, ['installations', 'add', '--name', 'Loomio pi', '--app', 'loomio', '--ssh-host', '127.0.0.1', '--ssh-user', 'pi', '--secret-stdin', 'backup-encryption-key'], LOOMIO_SAMPLES.passphrase));
    // A connection secret is not an archive key: the kit leaves it out.
    ok(lifeboat(homeA, ['installations', 'edit', 'Loomio pi', '--secret-stdin', 'database-password'], testSecret('db-password')));
    ok(lifeboat(homeA, ['import', dbFile, `${dbFile}.meta.json`, '--installation', 'DBackup prod']));
    ok(lifeboat(homeA, ['import', loomioFile, '--installation', 'Loomio pi']));
    snapshots = JSON.parse(ok(lifeboat(homeA, ['--json', 'vault', 'snapshots']))) as { id: string; app: string }[];
    kitFile = path.join(homeA, 'kit.txt.age');
  });

  it('is made only with a passphrase of 16+ characters, after a warning, as an armored age file', () => {
    const short = lifeboat(homeA, ['vault', 'recovery-kit', '--with-app-keys', '--output', kitFile], 'short');
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('at least 16 characters');
    const made = lifeboat(homeA, ['vault', 'recovery-kit', '--with-app-keys', '--output', kitFile], `${passphrase}\n`);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toContain('WARNING: this kit will carry the vault password AND every app key');
    expect(made.stderr).toContain('carries 2 app key(s)');
    const armored = readFileSync(kitFile, 'utf8');
    expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true);
    expect(armored).not.toContain(SAMPLE_KEY_HEX);
    expect(armored).not.toContain(LOOMIO_SAMPLES.passphrase);
  });

  it.skipIf(!hasAge)('opens with the real age tool, and its README\'s commands decrypt each app\'s archive by hand', () => {
    // Outside the test root: the plaintext kit holds the keys in clear (the suite scans that root for leaks).
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-kit-by-hand-'));
    try {
      // age reads a passphrase only from a terminal: script(1) gives it one.
      const opened = spawnSync('script', ['-q', '-e', '-c', `age -d -o ${path.join(scratch, 'kit.txt')} ${kitFile}`, '/dev/null'], { input: `${passphrase}\n`, encoding: 'utf8', timeout: 60_000 });
      expect(opened.status, opened.stdout + opened.stderr).toBe(0);
      const text = readFileSync(path.join(scratch, 'kit.txt'), 'utf8');
      expect(text).toContain('LIFEBOAT VAULT RECOVERY KIT');
      expect(text).toContain(`Installation "DBackup prod" (dbackup`);
      expect(text).toContain(`slot encryption-key:${SAMPLE_PROFILE_ID}\n    ${SAMPLE_KEY_HEX}`);
      expect(text).toContain(`slot backup-encryption-key\n    ${LOOMIO_SAMPLES.passphrase}`);
      expect(text).not.toContain('LBTESTSECRET-db-password');
      // The README's commands, as printed (indented blocks starting with node / python3), on copies named as the README names them.
      const block = (start: RegExp): string => {
        const lines = text.split('\n');
        const first = lines.findIndex((l) => start.test(l));
        expect(first).toBeGreaterThan(0);
        const out: string[] = [];
        for (let i = first; i < lines.length && lines[i]!.startsWith('  '); i++) out.push(lines[i]!);
        return out.join('\n');
      };
      copyFileSync(dbFile, path.join(scratch, 'Job_2026-11-23_13-12-50.sql.gz.enc'));
      copyFileSync(`${dbFile}.meta.json`, path.join(scratch, 'Job_2026-11-23_13-12-50.sql.gz.enc.meta.json'));
      copyFileSync(loomioFile, path.join(scratch, 'loomio_db_2026-11-23.sql.enc'));
      const env = { ...process.env, MASTER_KEY_HEX: SAMPLE_KEY_HEX, BACKUP_ENCRYPTION_KEY: LOOMIO_SAMPLES.passphrase };
      const dbackup = spawnSync('bash', ['-e', '-c', block(/^ {2}node -e/)], { cwd: scratch, env, encoding: 'utf8' });
      expect(dbackup.status, dbackup.stderr).toBe(0);
      expect(readFileSync(path.join(scratch, 'Job_2026-11-23_13-12-50.sql')).equals(SAMPLES.singleDb.plaintext)).toBe(true);
      expect(dbackup.stdout).toContain('TABLE DATA public users');
      const loomio = spawnSync('bash', ['-e', '-c', block(/^ {2}python3 -c/)], { cwd: scratch, env, encoding: 'utf8' });
      expect(loomio.status, loomio.stderr).toBe(0);
      expect(readFileSync(path.join(scratch, 'loomio_db_2026-11-23.sql')).equals(LOOMIO_SAMPLES.plaintext)).toBe(true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('on a clean Lifeboat (fresh data dir, fresh keychain), the kit alone opens the vault and previews a DBackup and a Loomio archive', () => {
    const homeB = makeTestHome('kit-clean');
    const out = path.join(homeB, 'out');
    const dbSnapshot = snapshots.find((s) => s.app === 'dbackup')!.id;
    const loomioSnapshot = snapshots.find((s) => s.app === 'loomio')!.id;
    // One fresh D-Bus session and keyring for the whole run: nothing of the first Lifeboat's keychain is there.
    const script = [
      'set -u',
      `L() { LIFEBOAT_HOME='${homeB}' '${process.execPath}' '${cli}' "$@"; }`,
      `mkdir -p '${out}'`,
      `L --json preview '${dbFile}' > '${out}/before.json' 2> '${out}/before.err'; echo $? > '${out}/before.rc'`,
      `echo 'not the passphrase of this kit' | L vault import-kit '${kitFile}' 2> '${out}/wrong.err'; echo $? > '${out}/wrong.rc'`,
      `L --json vault import-kit '${kitFile}' < '${path.join(homeB, 'passphrase')}' > '${out}/import.json' 2> '${out}/import.err'; echo $? > '${out}/import.rc'`,
      `L --json vault snapshots > '${out}/snapshots.json'`,
      `L --json preview ${dbSnapshot} > '${out}/db.json' 2> '${out}/db.err'; echo $? > '${out}/db.rc'`,
      `L --json preview ${loomioSnapshot} > '${out}/loomio.json' 2> '${out}/loomio.err'; echo $? > '${out}/loomio.rc'`,
      `L --json preview '${dbFile}' --installation 'DBackup prod' > '${out}/file.json' 2> '${out}/file.err'; echo $? > '${out}/file.rc'`,
      `L --json vault dump ${loomioSnapshot} ${LOOMIO_SAMPLES.v1Name} --output '${out}/dumped.enc'`,
    ].join('\n');
    writeFileSync(path.join(homeB, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
    const run = spawnSync('bash', ['scripts/with-test-env.sh', 'bash', '-c', script], { encoding: 'utf8', timeout: 180_000 });
    rmSync(path.join(homeB, 'passphrase'));
    expect(run.status, run.stderr).toBe(0);
    const read = (name: string): string => readFileSync(path.join(out, name), 'utf8');
    expect(read('before.rc').trim()).not.toBe('0');
    expect(read('before.err')).toContain('KEY_REQUIRED');
    expect(read('wrong.rc').trim()).toBe('12');
    expect(read('wrong.err')).toContain('The passphrase does not open this recovery kit');
    expect(read('import.rc').trim(), read('import.err')).toBe('0');
    const report = JSON.parse(read('import.json')) as { vault: { outcome: string }; installations: { name: string; created: boolean; keys: string[] }[] };
    expect(report.vault.outcome).toBe('adopted');
    expect(report.installations.map((i) => [i.name, i.created])).toEqual([['DBackup prod', true], ['Loomio pi', true]]);
    expect((JSON.parse(read('snapshots.json')) as { id: string }[]).map((s) => s.id).sort()).toEqual(snapshots.map((s) => s.id).sort());
    for (const name of ['db', 'loomio', 'file']) {
      expect(read(`${name}.rc`).trim(), read(`${name}.err`)).toBe('0');
      const preview = JSON.parse(read(`${name}.json`)) as { integrity: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] }; keyRejected?: unknown };
      expect(preview.integrity.ok, JSON.stringify(preview.integrity.checks)).toBe(true);
      expect(preview.keyRejected ?? null).toBeNull();
    }
    const loomioChecks = (JSON.parse(read('loomio.json')) as { integrity: { checks: { name: string; detail: string }[] } }).integrity.checks;
    expect(loomioChecks.map((c) => `${c.name}: ${c.detail}`).join('\n')).toMatch(/HMAC|Fernet/);
    expect(readFileSync(path.join(out, 'dumped.enc')).equals(LOOMIO_SAMPLES.v1)).toBe(true);
    // The new Lifeboat keeps the keys in its keychain, never in its files.
    expect(readFileSync(path.join(homeB, 'installations.json'), 'utf8')).not.toContain(SAMPLE_KEY_HEX);
  });
});

