// known_hosts parsing and lookup, checked against the real ssh-keygen (-l, -H, -F) as the oracle.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, describeHostKey, formatKnownHostsLine, hashKnownHostsName, knownHostsName, sha256Fingerprint } from '../../src/main/transport/ssh/known-hosts';

const run = promisify(execFile);

interface Key {
  line: string;
  blob: Buffer;
  type: string;
  pubFile: string;
}

let dir: string;
const keys: Record<'ed' | 'ecdsa' | 'rsa' | 'other' | 'revoked', Key> = {} as never;

async function makeKey(name: string, type: string, bits?: string): Promise<Key> {
  const file = path.join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', name, '-f', file]);
  const line = (await readFile(`${file}.pub`, 'utf8')).trim();
  const [keyType, b64] = line.split(' ');
  return { line, blob: Buffer.from(b64 as string, 'base64'), type: keyType as string, pubFile: `${file}.pub` };
}

/** ssh-keygen -F: the line numbers OpenSSH finds for `name` in the file (markers included). */
async function opensshLines(file: string, name: string): Promise<number[]> {
  try {
    const { stdout } = await run('ssh-keygen', ['-F', name, '-f', file]);
    return [...stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
  } catch (error) {
    if ((error as { code?: number }).code === 1) return [];
    throw error;
  }
}

const opensshFinds = async (file: string, name: string): Promise<boolean> => (await opensshLines(file, name)).length > 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-knownhosts-'));
  keys.ed = await makeKey('ed', 'ed25519');
  keys.ecdsa = await makeKey('ecdsa', 'ecdsa', '256');
  keys.rsa = await makeKey('rsa', 'rsa', '2048');
  keys.other = await makeKey('other', 'ed25519');
  keys.revoked = await makeKey('revoked', 'ed25519');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const keyPart = (k: Key): string => k.line.split(' ').slice(0, 2).join(' ');

function sampleFile(): string {
  return [
    '# a comment, then a blank line',
    '',
    `server.example.org,192.0.2.10 ${keyPart(keys.ed)}`,
    `[server.example.org]:2222 ${keyPart(keys.ecdsa)} with a comment`,
    `*.lan,!secret.lan ${keyPart(keys.rsa)}`,
    `@revoked * ${keyPart(keys.revoked)}`,
    `@cert-authority *.example.org ${keyPart(keys.other)}`,
    'broken-line-without-key',
    `bad.example.org ssh-ed25519 ${keys.rsa.blob.toString('base64')}`,
    '',
  ].join('\n');
}

describe('fingerprints', () => {
  it('match ssh-keygen -lf for ed25519, ecdsa and rsa keys', async () => {
    for (const k of [keys.ed, keys.ecdsa, keys.rsa]) {
      const { stdout } = await run('ssh-keygen', ['-lf', k.pubFile]);
      expect(stdout).toContain(sha256Fingerprint(k.blob));
      expect(describeHostKey(k.blob).algorithm).toBe(k.type);
    }
    expect(sha256Fingerprint(keys.ed.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('KnownHosts', () => {
  it('parses plain entries, comma lists, [host]:port, markers and reports bad lines', () => {
    const kh = KnownHosts.parse(sampleFile(), 'sample');
    expect(kh.entries).toHaveLength(5);
    expect(kh.warnings).toEqual([expect.stringMatching(/^sample:8: /), expect.stringMatching(/^sample:9: .*ssh-ed25519/)]);
    expect(kh.entries.map((e) => e.marker)).toEqual([null, null, null, 'revoked', 'cert-authority']);
    expect(kh.entries[1]?.comment).toBe('with a comment');
  });

  it('looks hosts up by name and port the way OpenSSH names them', () => {
    const kh = KnownHosts.parse(sampleFile());
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('h', 2222)).toBe('[h]:2222');
    expect(kh.lookup('server.example.org').map((e) => e.keyType)).toEqual(['ssh-ed25519']);
    expect(kh.lookup('192.0.2.10', 22)).toHaveLength(1);
    expect(kh.lookup('server.example.org', 2222).map((e) => e.keyType)).toEqual([keys.ecdsa.type]);
    expect(kh.lookup('server.example.org', 2200)).toHaveLength(0);
    expect(kh.lookup('nas.lan')).toHaveLength(1);
    expect(kh.lookup('NAS.LAN')).toHaveLength(1);
    expect(kh.lookup('secret.lan')).toHaveLength(0);
    // Markers are not host keys.
    expect(kh.lookup('www.example.org')).toHaveLength(0);
  });

  it('agrees with ssh-keygen -F on which lines apply to a host', async () => {
    const file = path.join(dir, 'plain_known_hosts');
    await writeFile(file, sampleFile());
    const kh = KnownHosts.parse(sampleFile());
    for (const [host, port] of [['server.example.org', 22], ['192.0.2.10', 22], ['server.example.org', 2222], ['nas.lan', 22], ['secret.lan', 22], ['elsewhere.org', 22]] as const) {
      const ours = kh.entriesFor(host, port).map((e) => e.line);
      expect(ours, `${host}:${port}`).toEqual(await opensshLines(file, knownHostsName(host, port)));
    }
  });

  it('matches entries hashed by the real ssh-keygen -H', async () => {
    const file = path.join(dir, 'hashed_known_hosts');
    await writeFile(file, `server.example.org ${keyPart(keys.ed)}\n[10.1.2.3]:2222 ${keyPart(keys.ecdsa)}\n`);
    await run('ssh-keygen', ['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('server.example.org');
    expect(text).toMatch(/^\|1\|/m);
    const kh = await KnownHosts.load([file, path.join(dir, 'does-not-exist')]);
    expect(kh.entries.every((e) => e.hashed !== null)).toBe(true);
    expect(kh.verify('server.example.org', 22, keys.ed.blob).status).toBe('match');
    expect(kh.verify('10.1.2.3', 2222, keys.ecdsa.blob).status).toBe('match');
    expect(kh.verify('10.1.2.3', 22, keys.ecdsa.blob).status).toBe('unknown');
    expect(kh.verify('server.example.org', 22, keys.other.blob).status).toBe('mismatch');
  });

  it('writes lines (hashed or plain) that ssh-keygen -F finds', async () => {
    const file = path.join(dir, 'written_known_hosts');
    await writeFile(file, `${formatKnownHostsLine('10.9.8.7', 2022, keys.ed.blob)}\n${formatKnownHostsLine('plain.example', 22, keys.rsa.blob, { hash: false })}\n`);
    expect(await opensshFinds(file, '[10.9.8.7]:2022')).toBe(true);
    expect(await opensshFinds(file, 'plain.example')).toBe(true);
    expect(await opensshFinds(file, '10.9.8.7')).toBe(false);
    const kh = await KnownHosts.load([file]);
    expect(kh.verify('10.9.8.7', 2022, keys.ed.blob).status).toBe('match');
    expect(hashKnownHostsName('x', Buffer.alloc(20, 1))).toBe(hashKnownHostsName('x', Buffer.alloc(20, 1)));
  });

  it('verifies: match, mismatch naming the known keys, unknown, revoked wins', () => {
    const kh = KnownHosts.parse(sampleFile());
    expect(kh.verify('server.example.org', 22, keys.ed.blob).status).toBe('match');
    const mismatch = kh.verify('server.example.org', 22, keys.other.blob);
    expect(mismatch.status).toBe('mismatch');
    expect(mismatch.status === 'mismatch' && mismatch.known.map((e) => sha256Fingerprint(e.keyBlob))).toEqual([sha256Fingerprint(keys.ed.blob)]);
    expect(kh.verify('new.example.org', 22, keys.ed.blob).status).toBe('unknown');
    expect(kh.verify('new.example.org', 22, keys.revoked.blob).status).toBe('revoked');
    // A host whose only record is a CA line is not a known host key.
    expect(kh.verify('www.example.org', 22, keys.other.blob).status).toBe('unknown');
  });
});
