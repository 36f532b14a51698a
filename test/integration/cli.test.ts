// The `lifeboat` command as a user runs it (the built bin), against a real sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { startSshd, type TestSshd } from '../harness/sshd';
import { makeTestHome } from '../harness/home';

const cli = path.resolve('bin/lifeboat.mjs');
let sshd: TestSshd;
let home: string;

function lifeboat(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LIFEBOAT_HOME: home }, input: input ?? '', encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  sshd = await startSshd();
  home = makeTestHome('cli');
});

afterAll(async () => {
  await sshd?.stop();
});

describe('lifeboat CLI', () => {
  it('adds an SSH installation, refuses its unknown host key with the fingerprint, then pins it with --trust-fingerprint', () => {
    const added = lifeboat(['installations', 'add', '--name', 'office', '--app', 'weavestream', '--ssh-host', '127.0.0.1', '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-auth', 'key', '--ssh-key', sshd.clientKeyPath]);
    expect(added.status, added.stderr).toBe(0);
    const first = lifeboat(['installations', 'test', 'office']);
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(sshd.hostKeyFingerprint);
    expect(first.stderr).toContain('SSH_HOST_KEY_UNKNOWN');
    expect(first.stderr).toContain(`--trust-fingerprint '${sshd.hostKeyFingerprint}'`);

    const wrong = lifeboat(['installations', 'test', 'office', '--trust-fingerprint', 'SHA256:' + 'A'.repeat(43)]);
    expect(wrong.status).toBe(1);

    const trusted = lifeboat(['--json', 'installations', 'test', 'office', '--trust-fingerprint', sshd.hostKeyFingerprint]);
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(JSON.parse(trusted.stdout)).toMatchObject({ ok: true, steps: [{ name: 'SSH', ok: true }] });
    const list = JSON.parse(lifeboat(['--json', 'installations', 'list']).stdout) as { ssh: { hostKeySha256: string } }[];
    expect(list[0]!.ssh.hostKeySha256).toBe(sshd.hostKeyFingerprint);
    expect(readFileSync(path.join(home, 'installations.json'), 'utf8')).toContain(sshd.hostKeyFingerprint);
  });

  it('edits an installation without changing its id: a new name, a setting, a secret from stdin', () => {
    const before = (JSON.parse(lifeboat(['--json', 'installations', 'list']).stdout) as { id: string; name: string }[]).find((i) => i.name === 'office')!;
    const edited = lifeboat(['--json', 'installations', 'edit', 'office', '--rename', 'office ws', '--setting', 'composeDir=/srv/weavestream', '--secret-stdin', 'database-password'], 'db-secret-value');
    expect(edited.status, edited.stderr).toBe(0);
    expect(JSON.parse(edited.stdout)).toMatchObject({ id: before.id, name: 'office ws', settings: { composeDir: '/srv/weavestream' }, secretPurposes: expect.arrayContaining(['database-password']) });
    const unknown = lifeboat(['installations', 'edit', 'office ws', '--setting', 'composeDirectory=/x']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('“composeDirectory” is not a setting of this app');
    const removed = lifeboat(['--json', 'installations', 'edit', 'office ws', '--rename', 'office', '--setting', 'composeDir=']);
    expect(JSON.parse(removed.stdout)).toMatchObject({ id: before.id, name: 'office', settings: {} });
    expect(readFileSync(path.join(home, 'installations.json'), 'utf8')).not.toContain('db-secret-value');
  });

  it('tags an installation with edit --tag, keeps the tags across other edits, removes one with --untag, and refuses a tag with a comma', () => {
    const tagged = lifeboat(['--json', 'installations', 'edit', 'office', '--tag', 'customer A', '--tag', 'production', '--tag', 'Production']);
    expect(tagged.status, tagged.stderr).toBe(0);
    expect((JSON.parse(tagged.stdout) as { tags: string[] }).tags).toEqual(['customer A', 'production']);
    const renamed = lifeboat(['--json', 'installations', 'edit', 'office', '--cadence-hours', '12']);
    expect((JSON.parse(renamed.stdout) as { tags: string[] }).tags).toEqual(['customer A', 'production']);
    expect(lifeboat(['installations', 'list']).stdout).toMatch(/office .*customer A, production/);
    const untagged = lifeboat(['--json', 'installations', 'edit', 'office', '--untag', 'PRODUCTION']);
    expect((JSON.parse(untagged.stdout) as { tags: string[] }).tags).toEqual(['customer A']);
    const bad = lifeboat(['installations', 'edit', 'office', '--tag', 'a,b']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('commas');
    expect((JSON.parse(lifeboat(['--json', 'installations', 'list']).stdout) as { tags: string[] }[])[0]!.tags).toEqual(['customer A']);
  });

  it('exits with the code of its outcome: 10 without a vault, 1 when a vault check finds damage', async () => {
    const noVault = lifeboat(['vault', 'snapshots']);
    expect(noVault.status, noVault.stderr).toBe(10);
    expect(noVault.stderr).toContain('VAULT_NOT_INITIALIZED');
    expect(lifeboat(['vault', 'init']).status).toBe(0);
    // Not an archive any app makes: stored only when asked, marked unverified, and the exit code says so (3).
    expect(lifeboat(['import', cli]).status).toBe(1);
    expect(lifeboat(['import', '--allow-unverified', cli]).status).toBe(3);
    // Damage one pack: the check command reports it and must exit 1 (it used to exit 0).
    const packs = readdirSync(path.join(home, 'vault', 'data'), { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}$/.test(f));
    const pack = path.join(home, 'vault', 'data', packs[0]!);
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(pack, bytes);
    const check = lifeboat(['vault', 'check', '--read-data']);
    expect(check.stdout).toMatch(/problem/);
    expect(check.status).toBe(1);
  });

  it('names what was wrong in bad input, with exit code 2', () => {
    const bad = lifeboat(['installations', 'add', '--name', 'x', '--app', 'weavestream', '--ssh-host', 'bad host!', '--ssh-auth', 'agent']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/ssh\.host: host may hold only letters/);
    const unknownApp = lifeboat(['installations', 'add', '--name', 'x', '--app', 'wordpress']);
    expect(unknownApp.status).not.toBe(0);
    expect(unknownApp.stderr).toMatch(/wordpress/);
  });

  it('previews a Loomio file with the key from stdin: a wrong key, an altered byte and a cut-off token each fail (exit 1) with their own message, the right key reads the COPY counts', () => {
    const file = path.resolve('test/fixtures/loomio/loomio-hourly-20261123-131211.sql.enc');
    const passphrase = 'a7863fc93a8c1c2511bbccbca8cac9dfbbae83b3ecce153db6c8e0c07f5f8cfe';
    const right = lifeboat(['preview', file, '--key-stdin'], `${passphrase}\n`);
    expect(right.status, right.stderr).toBe(0);
    expect(right.stdout).toContain('Integrity: OK');
    expect(right.stdout).toMatch(/public\.users\s+2\s/);
    expect(right.stdout).toContain('Fernet time: 2026-11-23 13:12:11 UTC');

    // No key at all: the one error that asks for a key, and it says how to give one here.
    const none = lifeboat(['preview', file]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('[KEY_REQUIRED]');
    expect(none.stderr).toContain('--key-stdin');

    // A wrong key is read once (no retry of the same key), the report is shown without contents, and the command fails.
    const wrong = lifeboat(['preview', file, '--key-stdin'], 'not-the-key\n');
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toContain('Integrity: FAILED');
    expect(wrong.stdout).not.toContain('public.users');
    expect(wrong.stderr).toContain('The key given on standard input was rejected');
    expect(wrong.stderr).toContain('probably the wrong key');
    expect(wrong.stderr).toContain('[ARCHIVE_VERIFY_FAILED]');
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-key');

    const dir = makeTestHome('cli-loomio-files');
    const bytes = readFileSync(file);
    const altered = Buffer.from(bytes);
    altered[Math.floor(altered.length / 2)] = altered[Math.floor(altered.length / 2)] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path.join(dir, 'altered.sql.enc'), altered);
    writeFileSync(path.join(dir, 'cut.sql.enc'), bytes.subarray(0, 5000));
    const changed = lifeboat(['preview', path.join(dir, 'altered.sql.enc'), '--key-stdin'], passphrase);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain('altered or damaged');
    expect(changed.stderr).not.toContain('wrong key');
    const cut = lifeboat(['preview', path.join(dir, 'cut.sql.enc'), '--key-stdin'], passphrase);
    expect(cut.status).toBe(1);
    expect(cut.stderr).toContain('cut short');
    expect(cut.stderr).not.toContain('wrong key');
    expect(new Set([wrong.stderr, changed.stderr, cut.stderr]).size).toBe(3);
  });

  it('npm start explains in one line what to do when the Electron binary is missing', () => {
    const start = spawnSync(process.execPath, ['scripts/start-electron.mjs'], { encoding: 'utf8' });
    expect(start.status).toBe(0);
    expect(start.stdout.trim().split('\n')).toHaveLength(1);
    expect(start.stdout).toMatch(/Electron binary is not installed.*npm run serve/);
  });
});
