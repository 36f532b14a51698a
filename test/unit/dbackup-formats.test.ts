// DBackup formats beyond the samples, built by the test writer from the spec: brotli whole files,
// v2 seekable archives (plain and encrypted: HKDF keys, sealed index), caps on decompression, and
// Recovery Kit ZIPs.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { readRecoveryKit } from '../../src/main/apps/dbackup/recovery-kit';
import { judgeHead, readPayload } from '../../src/main/formats/gcm';
import { writeRawZip } from '../fleet/nojoin/zip-tools';
import { SAMPLES, keyedContext, memoryArchive, reasonOf } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID, databaseSidecar, dbackupFileName, encodePayload, seekableArchive, sidecarText } from '../fleet/dbackup/writer';

const KEY = Buffer.from(SAMPLE_KEY_HEX, 'hex');
const AT = new Date('2026-11-24T02:00:00Z');
const dump = SAMPLES.singleDb.plaintext;

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

describe('whole files with brotli', () => {
  it('a brotli, encrypted Postgres backup previews with its TOC', async () => {
    const fileName = dbackupFileName('Brotli Job', AT, 'sql', 'BROTLI', true);
    const encoded = encodePayload(dump, { compression: 'BROTLI', key: KEY });
    const sidecar = databaseSidecar({ jobName: 'Brotli Job', databases: ['loomio_production'], at: AT, fileName, compression: 'BROTLI' }, encoded);
    const report = await dbackupModule.format.preview(memoryArchive(fileName, encoded.stored, [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecarText(sidecar)) }]), keyedContext());
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.contents.rows.length).toBeGreaterThan(2);
  });

  it('the head test: a right brotli head is plausible, random bytes are not', () => {
    const head = encodePayload(dump, { compression: 'BROTLI' }).stored.subarray(0, 1024);
    expect(judgeHead(head, 'brotli')).toMatchObject({ plausible: true });
    let plausible = 0;
    for (let i = 0; i < 200; i++) if (judgeHead(randomBytes(1024), 'brotli').plausible) plausible++;
    expect(plausible).toBeLessThan(5);
    expect(judgeHead(randomBytes(1024), 'gzip')).toMatchObject({ plausible: false, confident: true });
  });
});

describe('decompression caps', () => {
  it('a gzip bomb stops at the ratio cap with a typed error', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const outcome = await readPayload(Readable.from([bomb], { objectMode: false }), { label: 'bomb.sql.gz', secrets: null, compression: 'gzip', read: drain, limits: { ratioGraceBytes: 1024 * 1024 } });
    expect(outcome.readError?.code).toBe('ARCHIVE_INVALID');
    expect(reasonOf(outcome.readError)).toBe('decompression-bomb');
  });

  it('the output cap holds for an incompressible payload too', async () => {
    const payload = gzipSync(randomBytes(300_000));
    const outcome = await readPayload(Readable.from([payload], { objectMode: false }), { label: 'big.gz', secrets: null, compression: 'gzip', read: drain, limits: { maxOutputBytes: 100_000 } });
    expect(reasonOf(outcome.readError)).toBe('decompression-bomb');
  });

  it('a cut gzip stream is bad-compression', async () => {
    const payload = gzipSync(randomBytes(100_000)).subarray(0, 50_000);
    const outcome = await readPayload(Readable.from([payload], { objectMode: false }), { label: 'cut.gz', secrets: null, compression: 'gzip', read: drain });
    expect(reasonOf(outcome.readError)).toBe('bad-compression');
  });
});

describe('v2 seekable archives', () => {
  const files = [
    { src: 'js1', path: 'etc/app.conf', data: Buffer.from('key = value\n') },
    { src: 'js1', path: 'var/data.bin', data: randomBytes(5000) },
  ];

  async function v2Preview(key: Buffer | null, contextKey: string | null = SAMPLE_KEY_HEX) {
    const built = await seekableArchive({ databases: [{ name: 'loomio_production', dump }], files, key });
    const fileName = 'Files_Job_2026-11-24_02-00-00.tar';
    const sidecar = { ...databaseSidecar({ jobName: 'Files Job', databases: ['loomio_production'], at: AT, fileName, compression: null }, { stored: built.tar, iv: null, authTag: null }), archive: { formatVersion: 2, indexFile: '.index', encrypted: key !== null, ...(key ? { profileId: SAMPLE_PROFILE_ID } : {}) } };
    return dbackupModule.format.preview(memoryArchive(fileName, built.tar, [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecarText(sidecar)) }, { name: `${fileName}.index`, content: built.index }]), keyedContext(contextKey));
  }

  it('unencrypted: the cleartext manifest and the index (databases, directory sources, files)', async () => {
    const report = await v2Preview(null, null);
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['v2-manifest', 'v2-index', 'v2-index-copy']));
    expect(report.contents.rows).toEqual([
      { kind: 'database', name: 'loomio_production', format: 'custom', files: null, bytes: dump.length },
      { kind: 'directory source', name: '/srv/js1', format: null, files: 2, bytes: 5012 },
    ]);
  });

  it('encrypted: the index is unsealed with the HKDF index key; a wrong key fails the index check', async () => {
    const report = await v2Preview(KEY);
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.integrity.checks.find((c) => c.id === 'v2-index')?.detail).toMatch(/unsealed with the profile key/);
    const wrong = await v2Preview(KEY, '33'.repeat(32));
    expect(wrong.integrity.checks.find((c) => c.id === 'v2-index')).toMatchObject({ ok: false, detail: expect.stringMatching(/the key does not decrypt/) });
  });

  it('encrypted without a key: KEY_REQUIRED for the profile named in the manifest', async () => {
    await expect(v2Preview(KEY, null)).rejects.toMatchObject({ code: 'KEY_REQUIRED', details: { slot: `encryption-key:${SAMPLE_PROFILE_ID}` } });
  });
});

describe('Recovery Kit import', () => {
  const key2 = 'ab'.repeat(32);
  it('a one-profile kit: master.key, paired with the profile the caller names', async () => {
    const zip = writeRawZip([{ name: 'master.key', data: SAMPLE_KEY_HEX }, { name: 'dbackup-recover.js', data: '// tool' }, { name: 'README.txt', data: 'read me' }]);
    const keys = await readRecoveryKit(zip, { fileName: 'recovery_kit_primary.zip' });
    expect(keys).toEqual([{ profileId: null, name: 'primary', key: SAMPLE_KEY_HEX }]);
    // The module's key-file part leaves the slot open: the backup's sidecar names the profile.
    expect(await dbackupModule.keyFile!.read(zip, 'recovery_kit_primary.zip')).toEqual([{ slot: null, label: 'master key of DBackup encryption profile primary', value: SAMPLE_KEY_HEX }]);
  });

  it('a several-profile kit: keys/keys.json and one keys/<name>.key each', async () => {
    const zip = writeRawZip([
      { name: 'keys/keys.json', data: JSON.stringify({ version: 1, keys: [{ profileId: 'p1', name: 'Primary', file: 'primary.key' }, { profileId: 'p2', name: 'Offsite', file: 'keys/offsite.key' }] }) },
      { name: 'keys/primary.key', data: `${SAMPLE_KEY_HEX.toUpperCase()}\n` },
      { name: 'keys/offsite.key', data: key2 },
    ]);
    const keys = await readRecoveryKit(zip, { fileName: 'recovery_kit_2_profiles.zip' });
    expect(keys).toEqual([{ profileId: 'p1', name: 'Primary', key: SAMPLE_KEY_HEX }, { profileId: 'p2', name: 'Offsite', key: key2 }]);
    expect((await dbackupModule.keyFile!.read(zip, 'recovery_kit_2_profiles.zip')).map((k) => [k.slot, k.label])).toEqual([
      ['encryption-key:p1', 'master key of DBackup encryption profile Primary (p1)'],
      ['encryption-key:p2', 'master key of DBackup encryption profile Offsite (p2)'],
    ]);
  });

  it('refuses what is not a kit, with INVALID_INPUT saying why', async () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('not a zip'), /not a ZIP file/],
      [writeRawZip([{ name: 'README.txt', data: 'x' }]), /neither master\.key nor keys\/keys\.json/],
      [writeRawZip([{ name: 'master.key', data: 'short' }]), /does not hold a master key/],
      [writeRawZip([{ name: 'master.key', data: 'a'.repeat(5000) }]), /more than a key file holds|unpacks to more/],
      [writeRawZip([{ name: 'keys/keys.json', data: JSON.stringify({ version: 1, keys: [{ profileId: 'p1', file: 'missing.key' }] }) }]), /names keys\/missing\.key|names missing\.key/],
      [writeRawZip([{ name: 'keys/keys.json', data: '{' }]), /keys\/keys\.json is not JSON/],
    ];
    for (const [zip, message] of cases) await expect(readRecoveryKit(zip)).rejects.toMatchObject({ code: 'INVALID_INPUT', message });
  });
});
