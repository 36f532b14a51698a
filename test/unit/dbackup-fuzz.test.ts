// Mutated DBackup archives and sidecars in a fixed-seed loop: truncated ciphertext, flipped tags and
// bytes, IVs of the wrong length, broken or lying sidecars, wrong keys, damaged payloads under a
// valid tag (pg_dump TOC, TAR headers, manifest naming missing members, config JSON), gzip and
// brotli bombs, damaged v2 archives. Every preview ends as a report or a typed LifeboatError (never
// INTERNAL, never anything else), within a deadline, without the heap running away.
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { SAMPLES, keyedContext, memoryArchive, type Sample } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID, encodePayload, multiDbTar, seekableArchive, sidecarText } from '../fleet/dbackup/writer';

const KEY = Buffer.from(SAMPLE_KEY_HEX, 'hex');
const CASES = 240;
const DEADLINE_MS = 10_000;

/** Numbers from SHA-256 of a seed and a counter: the same sequence on every run, so a failure replays. */
function seeded(seed: string): () => number {
  let counter = 0;
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUInt32BE(0) / 2 ** 32;
}
const random = seeded('dbackup-fuzz-1');
const int = (n: number): number => Math.floor(random() * n);
const pick = <T,>(items: readonly T[]): T => items[int(items.length)]!;

interface Case {
  name: string;
  archive: ArchiveAccess;
  key: string | null;
  /** The integrity verdict must be a failure. */
  mustFail: boolean;
}

const sidecarOf = (s: Sample): Record<string, unknown> => JSON.parse(s.sidecar.toString('utf8')) as Record<string, unknown>;
const withSidecar = (fileName: string, stored: Buffer, sidecar: string | Buffer | null): ArchiveAccess =>
  memoryArchive(fileName, stored, sidecar === null ? [] : [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecar) }], 64 + int(4000));
const flip = (bytes: Buffer, count: number): Buffer => {
  const out = Buffer.from(bytes);
  for (let i = 0; i < count; i++) out[int(out.length)]! ^= 1 << int(8);
  return out;
};

/** Re-encrypts a payload as DBackup would and writes a sidecar that matches it (tag, checksums, size). */
function reencode(s: Sample, payload: Buffer, compression: 'GZIP' | 'BROTLI' = 'GZIP', compressed?: Buffer): { stored: Buffer; sidecar: string } {
  const encoded = compressed ? encodePayload(compressed, { compression: null, key: KEY }) : encodePayload(payload, { compression, key: KEY });
  const sidecar = sidecarOf(s);
  const encryption = { enabled: true, profileId: SAMPLE_PROFILE_ID, algorithm: 'aes-256-gcm', iv: encoded.iv!.toString('hex'), authTag: encoded.authTag!.toString('hex') };
  const fresh: Record<string, unknown> = { ...sidecar, compression, encryption };
  if (sidecar.checksum) Object.assign(fresh, { checksum: createHash('sha256').update(encoded.stored).digest('hex'), checksumMd5: createHash('md5').update(encoded.stored).digest('hex') });
  if (typeof sidecar.size === 'number') fresh.size = encoded.stored.length;
  return { stored: encoded.stored, sidecar: sidecarText(fresh) };
}

/** Bombs made once: 72 and 96 MiB of one byte (past the shared budget's 64 MiB ratio floor, far past 200:1). */
const BOMBS = {
  gzip: [gzipSync(Buffer.alloc(72 * 1024 * 1024, 0)), gzipSync(Buffer.alloc(96 * 1024 * 1024, 0x7b))],
  brotli: [brotliCompressSync(Buffer.alloc(72 * 1024 * 1024, 0x41), { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }), brotliCompressSync(Buffer.alloc(96 * 1024 * 1024, 0), { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })],
};

const encryptedSamples = [SAMPLES.singleDb, SAMPLES.multiDb, SAMPLES.configWithSecrets];

type Mutation = () => Case | Promise<Case>;

const mutations: Record<string, Mutation> = {
  'truncated ciphertext': () => {
    const s = pick(encryptedSamples);
    return { name: '', archive: withSidecar(s.fileName, s.stored.subarray(0, int(s.stored.length)), s.sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'flipped tag': () => {
    const s = pick(encryptedSamples);
    const sidecar = sidecarOf(s);
    const encryption = { ...(sidecar.encryption as Record<string, string>) };
    const tag = flip(Buffer.from(encryption.authTag!, 'hex'), 1 + int(3));
    encryption.authTag = tag.toString('hex');
    return { name: '', archive: withSidecar(s.fileName, s.stored, sidecarText({ ...sidecar, encryption })), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'IV of the wrong length': () => {
    const s = pick(encryptedSamples);
    const sidecar = sidecarOf(s);
    const encryption = { ...(sidecar.encryption as Record<string, string>) };
    encryption.iv = pick([encryption.iv!.slice(0, 24), `${encryption.iv!}00`, '', encryption.iv!.slice(2)]);
    return { name: '', archive: withSidecar(s.fileName, s.stored, sidecarText({ ...sidecar, encryption })), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'sidecar JSON broken': () => {
    const s = pick(encryptedSamples);
    const text = s.sidecar.toString('utf8');
    const broken = pick([text.slice(0, int(text.length)), text.replace(/"/, ''), `${text}}`, text.replace(':', ';'), flip(s.sidecar, 1 + int(6)).toString('latin1')]);
    // A flipped bit inside a name still parses; only text that is no longer JSON must fail.
    const parses = ((): boolean => {
      try {
        JSON.parse(broken);
        return true;
      } catch {
        return false;
      }
    })();
    return { name: '', archive: withSidecar(s.fileName, s.stored, broken), key: SAMPLE_KEY_HEX, mustFail: !parses };
  },
  'sidecar lying about the size or checksum': () => {
    const s = pick([...encryptedSamples, SAMPLES.configPlain]);
    const sidecar = sidecarOf(s);
    if (typeof sidecar.size === 'number') sidecar.size = (sidecar.size as number) + 1 + int(1000);
    else sidecar.checksum = createHash('sha256').update(String(random())).digest('hex');
    return { name: '', archive: withSidecar(s.fileName, s.stored, sidecarText(sidecar)), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'sidecar fields of the wrong type': () => {
    const s = pick([...encryptedSamples, SAMPLES.configPlain]);
    const sidecar = sidecarOf(s);
    const field = pick(Object.keys(sidecar));
    sidecar[field] = pick([null, 42, 'x', [], { a: 1 }, true]);
    return { name: '', archive: withSidecar(s.fileName, s.stored, sidecarText(sidecar)), key: SAMPLE_KEY_HEX, mustFail: false };
  },
  'no sidecar': () => {
    const s = pick(encryptedSamples);
    return { name: '', archive: withSidecar(s.fileName, s.stored, null), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'wrong key': () => {
    const s = pick(encryptedSamples);
    return { name: '', archive: withSidecar(s.fileName, s.stored, s.sidecar), key: createHash('sha256').update(String(random())).digest('hex'), mustFail: true };
  },
  'flipped ciphertext bytes': () => {
    const s = pick(encryptedSamples);
    return { name: '', archive: withSidecar(s.fileName, flip(s.stored, 1 + int(20)), s.sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'damaged payload under a valid tag': () => {
    const s = pick([SAMPLES.singleDb, SAMPLES.multiDb, SAMPLES.configWithSecrets]);
    const payload = pick([() => flip(s.plaintext, 1 + int(30)), () => s.plaintext.subarray(0, int(s.plaintext.length)), () => Buffer.concat([s.plaintext, flip(s.plaintext.subarray(0, 600), 5)])])();
    const { stored, sidecar } = reencode(s, payload, pick(['GZIP', 'BROTLI'] as const));
    return { name: '', archive: withSidecar(s.fileName, stored, sidecar), key: SAMPLE_KEY_HEX, mustFail: false };
  },
  'damaged gzip under a valid tag': () => {
    const s = pick(encryptedSamples);
    const gz = gzipSync(s.plaintext);
    const { stored, sidecar } = reencode(s, s.plaintext, 'GZIP', pick([flip(gz, 1 + int(5)), gz.subarray(0, int(gz.length))]));
    return { name: '', archive: withSidecar(s.fileName, stored, sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'TAR manifest naming missing members': async () => {
    const s = SAMPLES.multiDb;
    const dumpOf = (name: string): Buffer => s.plaintext.subarray(0, 100 + int(900)).fill(name.length);
    const names = ['loomio_production', 'analytics', `ghost_${int(100)}`];
    const manifest = { version: 1, createdAt: 'now', sourceType: 'postgres', databases: names.map((n) => ({ name: n, filename: `${n}.dump`, size: 10, format: 'custom' })), totalSize: 30 };
    const tarBytes = await multiDbTar(names.slice(0, 1 + int(2)).map((n) => ({ name: n, dump: dumpOf(n) })), { manifest });
    const { stored, sidecar } = reencode(s, tarBytes);
    return { name: '', archive: withSidecar(s.fileName, stored, sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'gzip bomb': () => {
    const s = pick(encryptedSamples);
    const { stored, sidecar } = reencode(s, Buffer.alloc(0), 'GZIP', pick(BOMBS.gzip));
    return { name: '', archive: withSidecar(s.fileName, stored, sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'brotli bomb': () => {
    const s = pick(encryptedSamples);
    const { stored, sidecar } = reencode(s, Buffer.alloc(0), 'BROTLI', pick(BOMBS.brotli));
    return { name: '', archive: withSidecar(s.fileName, stored, sidecar), key: SAMPLE_KEY_HEX, mustFail: true };
  },
  'damaged v2 archive': async () => {
    const built = await seekableArchive({ databases: [{ name: 'db', dump: SAMPLES.singleDb.plaintext }], files: [{ src: 's1', path: 'a.txt', data: Buffer.from('hello') }], key: random() < 0.5 ? KEY : null });
    const fileName = 'Files_2026-11-24_02-00-00.tar';
    const tarBytes = pick([() => built.tar.subarray(0, int(built.tar.length)), () => flip(built.tar, 1 + int(10)), () => built.tar])();
    const index = pick([built.index, flip(built.index, 2), Buffer.from('junk')]);
    const sidecar = sidecarText({ version: 1, sourceType: 'postgres', databases: { count: 1, names: ['db'] }, checksum: createHash('sha256').update(tarBytes).digest('hex'), archive: { formatVersion: 2, indexFile: '.index', encrypted: built.manifest.encryption !== undefined, profileId: SAMPLE_PROFILE_ID } });
    return { name: '', archive: memoryArchive(fileName, tarBytes, [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecar) }, { name: `${fileName}.index`, content: index }]), key: SAMPLE_KEY_HEX, mustFail: false };
  },
};

const ALLOWED = new Set(['ARCHIVE_INVALID', 'KEY_REQUIRED']);

describe(`${CASES} mutated DBackup archives (fixed seed)`, () => {
  it('each previews as a report or fails with a typed error, in time, in bounded memory', async () => {
    const kinds = Object.keys(mutations);
    const outcomes: Record<string, { reports: number; failedReports: number; errors: Record<string, number>; ms?: number }> = {};
    const heapStart = process.memoryUsage().heapUsed;
    let heapPeak = heapStart;
    for (let i = 0; i < CASES; i++) {
      const kind = kinds[i % kinds.length]!;
      const started = Date.now();
      const testCase = await mutations[kind]!();
      const tally = (outcomes[kind] ??= { reports: 0, failedReports: 0, errors: {} });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), DEADLINE_MS);
      const ctx = keyedContext(testCase.key, SAMPLE_PROFILE_ID, { signal: controller.signal, progress: () => undefined, log: () => undefined });
      let result: Awaited<ReturnType<typeof dbackupModule.format.preview>> | LifeboatError;
      try {
        result = await dbackupModule.format.preview(testCase.archive, ctx);
      } catch (error) {
        if (!(error instanceof LifeboatError)) throw new Error(`case ${i} (${kind}) threw a non-Lifeboat error: ${String(error)}`, { cause: error });
        result = error;
      } finally {
        clearTimeout(timer);
      }
      expect(controller.signal.aborted, `case ${i} (${kind}) ran past ${DEADLINE_MS} ms`).toBe(false);
      if (result instanceof LifeboatError) {
        expect(ALLOWED.has(result.code), `case ${i} (${kind}): ${result.code} ${result.message}`).toBe(true);
        tally.errors[result.code] = (tally.errors[result.code] ?? 0) + 1;
      } else {
        tally.reports++;
        if (!result.integrity.ok) tally.failedReports++;
        expect(result.app).toBe('dbackup');
        expect(Array.isArray(result.contents.rows)).toBe(true);
        if (testCase.mustFail) expect(result.integrity.ok, `case ${i} (${kind}) passed: ${JSON.stringify(result.integrity.checks)}`).toBe(false);
        // What a failed tag leaves must not be shown as contents.
        if (result.integrity.checks.some((c) => c.id === 'gcm-tag' && !c.ok)) expect(result.integrity.checks.some((c) => c.id === 'pg-dump' || c.id === 'config-json' || c.id === 'tar-manifest')).toBe(false);
      }
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      tally.ms = (tally.ms ?? 0) + Date.now() - started;
    }
    expect(heapPeak - heapStart, 'heap growth during the loop').toBeLessThan(400 * 1024 * 1024);
    // Every kind ran, and the kinds meant to fail did (as failed checks or typed errors).
    expect(Object.keys(outcomes).sort()).toEqual(kinds.sort());
    console.log(JSON.stringify(outcomes));
  }, 300_000);
});
