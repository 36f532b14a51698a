// The Loomio Pi stack samples (test/fixtures/loomio, made with Python's cryptography exactly as the
// stack's backup.py encrypts), loaded once for the unit tests and the fleet.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const dir = path.resolve('test/fixtures/loomio');

/** fernet-vector.json: a deterministic token with every parameter. */
export interface FernetVector {
  passphrase_BACKUP_ENCRYPTION_KEY: string;
  derived_key_hex: string;
  fernet_key_base64url: string;
  timestamp_unix: number;
  iv_hex: string;
  plaintext_utf8: string;
  token_base64url: string;
}

/** The sample files and the passphrase of the README. */
export const LOOMIO_SAMPLES = {
  dir,
  passphrase: 'a7863fc93a8c1c2511bbccbca8cac9dfbbae83b3ecce153db6c8e0c07f5f8cfe',
  /** SHA-256 of the plaintext dump, per the README. */
  plaintextSha256: 'ecf67a73d75a6a111e7170922c08c484afa4f8830e33ac46659911f30d1129e8',
  hourlyName: 'loomio-hourly-20261123-131211.sql.enc',
  v1Name: 'loomio_backup_20261123_131211.sql.enc',
  hourly: readFileSync(path.join(dir, 'loomio-hourly-20261123-131211.sql.enc')),
  v1: readFileSync(path.join(dir, 'loomio_backup_20261123_131211.sql.enc')),
  plaintext: readFileSync(path.join(dir, 'plaintext/loomio_production.sql')),
  vectorToken: readFileSync(path.join(dir, 'fernet-vector.token'), 'latin1').trim(),
  vector: JSON.parse(readFileSync(path.join(dir, 'fernet-vector.json'), 'utf8')) as FernetVector,
  /** backup.py's key derivation. */
  kdf: { salt: 'loomio-backup-salt', iterations: 100_000 },
} as const;

/** Rows per COPY block the simple way (the lines between each `COPY … FROM stdin;` and its `\.`), the oracle for the readers. */
export function copyRowCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^COPY (\S+) .*FROM stdin;$/.exec(lines[i]!);
    if (!m) continue;
    let n = 0;
    while (i + 1 < lines.length && lines[++i] !== '\\.') n++;
    counts[m[1]!] = n;
  }
  return counts;
}

/** mulberry32: a small seeded PRNG, so a failing mutation loop replays. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
