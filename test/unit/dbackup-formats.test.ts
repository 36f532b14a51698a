// DBackup formats beyond the samples, built by the test writer from the spec: brotli whole files,
// v2 seekable archives (plain and encrypted: HKDF keys, sealed index), caps on decompression, and
// Recovery Kit ZIPs.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { readRecoveryKit } from '../../src/main/apps/dbackup/recovery-kit';
import { readCapped, walkTar } from '../../src/main/apps/dbackup/tar-walk';
import { DecompressBudget, DEFAULT_DECOMPRESS_LIMITS } from '../../src/main/formats/decompress-budget';
import { archiveNonce, deriveArchiveKeys, judgeHead, openSealed, readPayload } from '../../src/main/formats/gcm';
import { readPgDumpToc } from '../../src/main/formats/pgdump';
import { writeRawZip } from '../fleet/nojoin/zip-tools';
import { SAMPLES, keyedContext, memoryArchive, reasonOf } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, SAMPLE_PROFILE_ID, databaseSidecar, dbackupFileName, encodePayload, payloadOffsets, seekableArchive, sidecarText, type SeekableDatabaseInput } from '../fleet/dbackup/writer';

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
    const outcome = await readPayload(Readable.from([bomb], { objectMode: false }), { label: 'bomb.sql.gz', secrets: null, compression: 'gzip', read: drain, budget: new DecompressBudget('bomb.sql.gz', { ...DEFAULT_DECOMPRESS_LIMITS, ratioFloorBytes: 1024 * 1024 }) });
    expect(outcome.readError?.code).toBe('ARCHIVE_INVALID');
    expect(reasonOf(outcome.readError)).toBe('decompression-bomb');
  });

  it('the output cap holds for an incompressible payload too', async () => {
    const payload = gzipSync(randomBytes(300_000));
    const outcome = await readPayload(Readable.from([payload], { objectMode: false }), { label: 'big.gz', secrets: null, compression: 'gzip', read: drain, budget: new DecompressBudget('big.gz', { ...DEFAULT_DECOMPRESS_LIMITS, maxBlockBytes: 100_000 }) });
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
    // Over the 64 KiB bundling threshold: its own entry even when encrypted, so its SHA-256 is checked.
    { src: 'js2', path: 'big.bin', data: randomBytes(70 * 1024) },
  ];
  const fileName = 'Files_Job_2026-11-24_02-00-00.tar';
  let dumps: { production: Buffer; analytics: Buffer };

  beforeAll(async () => {
    const members = new Map<string, Buffer>();
    await walkTar(Readable.from([SAMPLES.multiDb.plaintext]), 'multi', (m) => async (body) => {
      members.set(m.name, await readCapped(body, 1 << 20, m.name));
    });
    dumps = { production: members.get('loomio_production.dump')!, analytics: members.get('analytics.dump')! };
  });

  type Built = Awaited<ReturnType<typeof seekableArchive>>;
  const databases = (): SeekableDatabaseInput[] => [
    // pg_dump -Z 6 compressed itself: stored as-is; the second one compressed by the job setting.
    { name: 'loomio_production', dump: dumps.production },
    { name: 'analytics', dump: dumps.analytics, nativeCompression: false },
  ];
  async function build(key: Buffer | null, compression: 'GZIP' | 'BROTLI' | null = 'GZIP'): Promise<Built> {
    return seekableArchive({ databases: databases(), files, key, compression, archiveName: fileName });
  }
  function preview(built: Built, options: { key?: string | null; tar?: Buffer; withIndex?: boolean } = {}) {
    const tarBytes = options.tar ?? built.tar;
    const encrypted = built.manifest.encryption !== undefined;
    const sidecar = { ...databaseSidecar({ jobName: 'Files Job', databases: ['loomio_production', 'analytics'], at: AT, fileName, compression: null }, { stored: tarBytes, iv: null, authTag: null }), archive: { formatVersion: 2, indexFile: '.index', encrypted, ...(encrypted ? { profileId: SAMPLE_PROFILE_ID } : {}) } };
    const sidecars = [{ name: `${fileName}.meta.json`, content: Buffer.from(sidecarText(sidecar)) }, ...(options.withIndex === false ? [] : [{ name: `${fileName}.index`, content: built.index }])];
    return dbackupModule.format.preview(memoryArchive(fileName, tarBytes, sidecars), keyedContext(options.key === undefined ? SAMPLE_KEY_HEX : options.key));
  }
  const tablesOf = async (dump: Buffer): Promise<string[]> => (await readPgDumpToc(Readable.from([dump]), { scanData: true })).tables.map((t) => `${t.schema}.${t.name}`);
  const rowTables = (report: Awaited<ReturnType<typeof preview>>, database: string): string[] =>
    report.contents.rows.filter((r) => r.database === database && r.table !== null).map((r) => `${String(r.schema)}.${String(r.table)}`);
  const failing = (report: Awaited<ReturnType<typeof preview>>) => report.integrity.checks.filter((c) => !c.ok);

  it('the writer lays the archive out as DBackup does: offsets point at payloads, sizes are the stored bytes', async () => {
    const built = await build(KEY, 'BROTLI');
    const offsets = payloadOffsets(built.tar);
    expect([...offsets.keys()][0]).toBe('manifest.json');
    expect(offsets.get('manifest.json')).toBe(512);
    expect([...offsets.keys()].at(-1)).toBe('index');
    const lines = gunzipSync(openSealed(deriveArchiveKeys(KEY, (built.manifest.encryption as { kdfSalt: string }).kdfSalt).index, archiveNonce((built.manifest.encryption as { noncePrefix: string }).noncePrefix, 0), built.index, 'index', true)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const entries = lines.filter((l) => l.k === 'e');
    for (const e of entries) expect(offsets.get(e.member as string)).toBe(e.off);
    // Bundled small files (encrypted only), with their slices; the dump stored as-is has no comp.
    expect(entries.filter((e) => e.bundle)).toHaveLength(1);
    expect(entries[0]).toMatchObject({ n: 1, member: 'd/000001', sealed: true });
    expect(entries[0]).not.toHaveProperty('comp');
    expect(lines.filter((l) => l.k === 'f' && l.o !== undefined)).toHaveLength(2);
  });

  it('unencrypted: every entry is read, each database shows its own TOC, files match the index hashes', async () => {
    const built = await build(null);
    const report = await preview(built, { key: null });
    expect(failing(report)).toEqual([]);
    expect(report.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['v2-manifest', 'v2-index', 'v2-index-copy', 'v2-entries', 'toc:loomio_production', 'toc:analytics', 'v2-file-hashes']));
    expect(report.integrity.checks.find((c) => c.id === 'v2-file-hashes')?.detail).toBe('3 file(s) match');
    expect(rowTables(report, 'loomio_production')).toEqual(await tablesOf(dumps.production));
    expect(rowTables(report, 'analytics')).toEqual(await tablesOf(dumps.analytics));
    expect(rowTables(report, 'analytics').length).toBeGreaterThan(0);
    expect(report.contents.rows.filter((r) => r.holds === 'directory source')).toEqual([
      { database: 'SFTP: /srv/js1', schema: null, table: null, holds: 'directory source', dataBytes: 5012, files: 2 },
      { database: 'SFTP: /srv/js2', schema: null, table: null, holds: 'directory source', dataBytes: 70 * 1024, files: 1 },
    ]);
    expect(report.selectable).toEqual(['loomio_production', 'analytics']);
  });

  it('encrypted (brotli, bundles): entries unsealed with the HKDF data key and their ordinal nonces', async () => {
    const built = await build(KEY, 'BROTLI');
    const report = await preview(built);
    expect(failing(report)).toEqual([]);
    expect(report.integrity.checks.find((c) => c.id === 'v2-index')?.detail).toMatch(/unsealed with the profile key/);
    expect(report.integrity.checks.find((c) => c.id === 'v2-entries')?.detail).toMatch(/^4 entries, each with the HKDF data key/);
    // Bundled files are covered by the bundle's tag; the one big file by its hash too.
    expect(report.integrity.checks.find((c) => c.id === 'v2-file-hashes')?.detail).toBe('1 file(s) match');
    expect(rowTables(report, 'loomio_production')).toEqual(await tablesOf(dumps.production));
    expect(rowTables(report, 'analytics')).toEqual(await tablesOf(dumps.analytics));
  });

  it('encrypted without the .index sidecar: the ordinals come from the opaque names, gzip from its magic', async () => {
    const built = await build(KEY, 'GZIP');
    const report = await preview(built, { withIndex: false });
    expect(failing(report)).toEqual([]);
    expect(rowTables(report, 'analytics')).toEqual(await tablesOf(dumps.analytics));
  });

  it('a wrong key: the entries fail as a wrong key, not as damage, and the report asks for another', async () => {
    const report = await preview(await build(KEY), { key: '33'.repeat(32) });
    expect(report.integrity.checks.find((c) => c.id === 'v2-index')).toMatchObject({ ok: false, detail: expect.stringMatching(/the key does not decrypt/) });
    expect(report.integrity.checks.find((c) => c.id === 'v2-entries')).toMatchObject({ ok: false, detail: expect.stringMatching(/4 of 4 entries failed; first: .*the key does not decrypt/) });
    expect(report.keyRejected?.slot).toBe(`encryption-key:${SAMPLE_PROFILE_ID}`);
    expect(rowTables(report, 'analytics')).toEqual([]);
  });

  it('a flipped byte inside a sealed dump fails its tag and its TOC is not shown', async () => {
    const built = await build(KEY);
    const tarBytes = Buffer.from(built.tar);
    const at = payloadOffsets(tarBytes).get('d/000002')! + 100;
    tarBytes[at] = tarBytes[at]! ^ 0x01;
    const report = await preview(built, { tar: tarBytes });
    expect(report.integrity.checks.find((c) => c.id === 'v2-entries')).toMatchObject({ ok: false, detail: expect.stringMatching(/1 of 4 entries failed; first: .*d\/000002 is damaged/) });
    expect(report.integrity.checks.find((c) => c.id === 'toc:analytics')?.ok).toBe(false);
    expect(report.integrity.checks.find((c) => c.id === 'toc:loomio_production')?.ok).toBe(true);
    expect(rowTables(report, 'analytics')).toEqual([]);
  });

  it('unencrypted: a changed file byte (no tag, no compression) is caught by the index SHA-256', async () => {
    const built = await build(null, null);
    const tarBytes = Buffer.from(built.tar);
    const at = payloadOffsets(tarBytes).get('sources/js2/big.bin')! + 10;
    tarBytes[at] = tarBytes[at]! ^ 0xff;
    const report = await preview(built, { tar: tarBytes, key: null });
    expect(failing(report).map((c) => [c.id, c.detail])).toEqual([['v2-file-hashes', '1 of 3 differ: big.bin']]);
  });

  it('encrypted without a key: KEY_REQUIRED for the profile named in the manifest', async () => {
    await expect(preview(await build(KEY), { key: null })).rejects.toMatchObject({ code: 'KEY_REQUIRED', details: { slot: `encryption-key:${SAMPLE_PROFILE_ID}` } });
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
