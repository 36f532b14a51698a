/**
 * OpenSSH known_hosts: parsing, lookup by host and port, and the `SHA256:` fingerprints that
 * `ssh-keygen -l` prints. Supports plain and hashed (`|1|salt|hash`) host fields, `[host]:port`,
 * comma lists with wildcards and negation, comments, and the `@revoked` marker. `@cert-authority`
 * lines are kept but never match a plain host key: Lifeboat does not accept host certificates.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { matchPatternList } from './host-pattern';

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | null;
  /** Plain host patterns, or null for a hashed entry. */
  patterns: string[] | null;
  /** Salt and HMAC-SHA1 of a hashed entry (`|1|salt|hash`), or null for a plain one. */
  hashed: { salt: Buffer; hash: Buffer } | null;
  /** The key type named on the line, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob (the base64 field, decoded). */
  keyBlob: Buffer;
  comment: string;
  source: string;
  line: number;
}

/** What a host key is, in the form people compare: OpenSSH's `SHA256:` fingerprint. */
export interface HostKeyIdentity {
  fingerprint: string;
  algorithm: string;
}

/** The verdict on a presented host key. */
export type KnownHostsVerdict =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  /** The host is known, but with other keys only. */
  | { status: 'mismatch'; known: KnownHostEntry[] }
  | { status: 'unknown' };

/** `SHA256:<base64 without padding>` of a public key blob, exactly as OpenSSH prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name embedded at the start of a public key blob (e.g. `ssh-ed25519`). */
export function keyBlobAlgorithm(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.toString('latin1', 4, 4 + len);
}

/** Fingerprint and algorithm of a public key blob. */
export function describeHostKey(keyBlob: Buffer): HostKeyIdentity {
  return { fingerprint: sha256Fingerprint(keyBlob), algorithm: keyBlobAlgorithm(keyBlob) };
}

/** The name OpenSSH records for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The hashed form OpenSSH writes with `HashKnownHosts yes` / `ssh-keygen -H`. */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/** A known_hosts line for a host key, hashed unless `hash` is false. */
export function formatKnownHostsLine(host: string, port: number, keyBlob: Buffer, options: { hash?: boolean } = {}): string {
  const name = knownHostsName(host, port);
  const field = options.hash === false ? name : hashKnownHostsName(name);
  return `${field} ${keyBlobAlgorithm(keyBlob)} ${keyBlob.toString('base64')}`;
}

/** A parsed set of known_hosts files. */
export class KnownHosts {
  readonly entries: readonly KnownHostEntry[];
  /** Lines that were skipped because they could not be parsed (file:line and why). */
  readonly warnings: readonly string[];

  constructor(entries: KnownHostEntry[], warnings: string[] = []) {
    this.entries = entries;
    this.warnings = warnings;
  }

  /** Parses the text of one known_hosts file. */
  static parse(text: string, source = 'known_hosts'): KnownHosts {
    const entries: KnownHostEntry[] = [];
    const warnings: string[] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, index) => {
      const result = parseLine(raw, source, index + 1);
      if (result === null) return;
      if (typeof result === 'string') warnings.push(`${source}:${index + 1}: ${result}`);
      else entries.push(result);
    });
    return new KnownHosts(entries, warnings);
  }

  /** Reads and merges files in order; a file that does not exist is skipped. */
  static async load(files: readonly string[]): Promise<KnownHosts> {
    const entries: KnownHostEntry[] = [];
    const warnings: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const parsed = KnownHosts.parse(text, file);
      entries.push(...parsed.entries);
      warnings.push(...parsed.warnings);
    }
    return new KnownHosts(entries, warnings);
  }

  /** The plain host-key entries (no markers) recorded for `host` on `port`. */
  lookup(host: string, port = 22): KnownHostEntry[] {
    return this.entriesFor(host, port).filter((e) => e.marker === null);
  }

  /** Every line that applies to `host` on `port`, markers included (what `ssh-keygen -F` lists). */
  entriesFor(host: string, port = 22): KnownHostEntry[] {
    const name = knownHostsName(host, port);
    return this.entries.filter((e) => entryMatches(e, name));
  }

  /** Checks a presented key blob for `host`:`port` the way OpenSSH does. */
  verify(host: string, port: number, keyBlob: Buffer): KnownHostsVerdict {
    const matching = this.entriesFor(host, port);
    // A revoked key is refused whatever else the file says (revoked lines usually use `*`).
    const revoked = matching.find((e) => e.marker === 'revoked' && e.keyBlob.equals(keyBlob));
    if (revoked) return { status: 'revoked', entry: revoked };
    const known = matching.filter((e) => e.marker === null);
    const entry = known.find((e) => e.keyBlob.equals(keyBlob));
    if (entry) return { status: 'match', entry };
    return known.length > 0 ? { status: 'mismatch', known } : { status: 'unknown' };
  }
}

function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const hash = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return hash.equals(entry.hashed.hash);
  }
  return entry.patterns !== null && matchPatternList(entry.patterns, name) === 'match';
}

/** Returns an entry, null for blank/comment lines, or a string saying why the line is unusable. */
function parseLine(raw: string, source: string, line: number): KnownHostEntry | string | null {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return null;
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostEntry['marker'] = null;
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return `unknown marker ${name}`;
  }
  const [hostField, keyType, keyBase64, ...rest] = fields;
  if (!hostField || !keyType || !keyBase64) return 'expected hosts, key type and key';
  const keyBlob = Buffer.from(keyBase64, 'base64');
  if (keyBlob.length === 0 || keyBlobAlgorithm(keyBlob) !== keyType) return `key does not decode as ${keyType}`;
  const entry = { marker, keyType, keyBlob, comment: rest.join(' '), source, line };
  if (hostField.startsWith('|')) {
    const hashed = parseHashedField(hostField);
    if (!hashed) return 'unsupported hashed host field';
    return { ...entry, patterns: null, hashed };
  }
  return { ...entry, patterns: hostField.split(',').filter((p) => p !== ''), hashed: null };
}

function parseHashedField(field: string): { salt: Buffer; hash: Buffer } | null {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return null;
  const saltBuf = Buffer.from(salt, 'base64');
  const hashBuf = Buffer.from(hash, 'base64');
  // HMAC-SHA1: 20-byte hash; OpenSSH's salt is also 20 bytes.
  if (hashBuf.length !== 20 || saltBuf.length === 0) return null;
  return { salt: saltBuf, hash: hashBuf };
}
