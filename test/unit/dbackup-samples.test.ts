// DBackup's real samples (test/fixtures/dbackup): each decrypts with the README's key to the exact
// plaintext, checksums are checked without the key, a wrong key, a damaged file and a missing
// sidecar are three different errors, and the previews show what is inside.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { DbackupVerifier } from '../../src/main/apps/dbackup/checks';
import { parseDbackupSidecar } from '../../src/main/apps/dbackup/sidecar';
import { authenticateWholeFile, noSidecarError, readPayload, type WholeFileSecrets } from '../../src/main/formats/gcm';
import { wholeArchiveOf } from '../harness/whole-archive';
import { SAMPLES, keyedContext, reasonOf, sampleArchive, type Sample } from '../fleet/dbackup/archives';
import { SAMPLE_KEY_HEX, encodePayload } from '../fleet/dbackup/writer';

const KEY = Buffer.from(SAMPLE_KEY_HEX, 'hex');
const OTHER_KEY = Buffer.from('11'.repeat(32), 'hex');
const chunks = (bytes: Buffer, size = 500): Readable => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)), { objectMode: false });

function secretsOf(s: Sample, key = KEY): WholeFileSecrets | null {
  const { encryption } = parseDbackupSidecar(s.sidecar.toString('utf8'), `${s.fileName}.meta.json`);
  return encryption ? { key, iv: encryption.iv!, authTag: encryption.authTag! } : null;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('decrypting the samples', () => {
  for (const [role, s] of Object.entries(SAMPLES)) {
    it(`${role}: decrypts and gunzips to the plaintext copy, byte for byte, with the tag checked`, async () => {
      const hash = createHash('sha256');
      const outcome = await readPayload(chunks(s.stored), { label: s.fileName, secrets: secretsOf(s), compression: 'gzip', read: collect, onStoredChunk: (c) => hash.update(c) });
      expect(outcome.decryptError).toBeNull();
      expect(outcome.readError).toBeNull();
      expect(outcome.authenticated).toBe(secretsOf(s) ? true : null);
      expect(outcome.value?.equals(s.plaintext)).toBe(true);
      expect(outcome.storedBytes).toBe(s.stored.length);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(s.stored).digest('hex'));
    });
  }

  it('the test writer reproduces every encrypted sample from its plaintext and the sidecar\'s IV (DBackup\'s own pipeline)', () => {
    for (const s of [SAMPLES.singleDb, SAMPLES.multiDb, SAMPLES.configWithSecrets]) {
      const secrets = secretsOf(s)!;
      const encoded = encodePayload(s.plaintext, { compression: 'GZIP', key: KEY, iv: secrets.iv });
      expect(encoded.stored.equals(s.stored)).toBe(true);
      expect(encoded.authTag?.equals(secrets.authTag)).toBe(true);
    }
    expect(encodePayload(SAMPLES.configPlain.plaintext, { compression: 'GZIP' }).stored.equals(SAMPLES.configPlain.stored)).toBe(true);
  });
});

describe('wrong key, damaged file and missing sidecar are three different errors', () => {
  const s = SAMPLES.singleDb;
  const failure = async (secrets: WholeFileSecrets, stored = s.stored): Promise<LifeboatError> => {
    const error = await authenticateWholeFile(chunks(stored), secrets, { label: s.fileName, compression: 'gzip', keyRef: { slot: 'encryption-key:p', label: 'master key' } }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(LifeboatError);
    return error as LifeboatError;
  };

  it('a wrong key is KEY_REQUIRED (reason wrong-key, the slot named), found on the first KiB', async () => {
    const error = await failure({ ...secretsOf(s)!, key: OTHER_KEY });
    expect(error.code).toBe('KEY_REQUIRED');
    expect(reasonOf(error)).toBe('wrong-key');
    expect(error.details?.slot).toBe('encryption-key:p');
    expect(error.message).toMatch(/the key does not decrypt this file/);
  });

  it('a flipped byte late in the file or a flipped tag is ARCHIVE_INVALID (reason corrupt)', async () => {
    const flipped = Buffer.from(s.stored);
    flipped[flipped.length - 10]! ^= 0x40;
    const late = await failure(secretsOf(s)!, flipped);
    const tag = Buffer.from(secretsOf(s)!.authTag);
    tag[0]! ^= 1;
    const badTag = await failure({ ...secretsOf(s)!, authTag: tag });
    const cut = await failure(secretsOf(s)!, s.stored.subarray(0, s.stored.length - 100));
    for (const error of [late, badTag, cut]) {
      expect(error.code).toBe('ARCHIVE_INVALID');
      expect(reasonOf(error)).toBe('corrupt');
      expect(error.message).toMatch(/is damaged: the AES-GCM authentication tag does not match/);
    }
  });

  it('no sidecar: ARCHIVE_INVALID (reason no-sidecar) saying the IV and tag live only there', () => {
    const error = noSidecarError(s.fileName, `${s.fileName}.meta.json`);
    expect(reasonOf(error)).toBe('no-sidecar');
    expect(error.message).toMatch(/cannot be decrypted: its IV and authentication tag live only in .*\.meta\.json/);
  });

  it('the three messages differ in the preview too, as failed tag checks', async () => {
    const details = async (archive = sampleArchive(s), key: string = SAMPLE_KEY_HEX): Promise<string> => {
      const report = await dbackupModule.format.preview(archive, keyedContext(key));
      expect(report.integrity.ok).toBe(false);
      return report.integrity.checks.find((c) => c.id === 'gcm-tag')!.detail;
    };
    const flipped = Buffer.from(s.stored);
    flipped[2000]! ^= 1;
    const tampered = { ...JSON.parse(s.sidecar.toString('utf8')) };
    tampered.checksum = createHash('sha256').update(flipped).digest('hex');
    tampered.checksumMd5 = createHash('md5').update(flipped).digest('hex');
    const messages = [
      await details(sampleArchive(s), '22'.repeat(32)),
      await details(sampleArchive(s, JSON.stringify(tampered), flipped)),
      await details(sampleArchive(s, null)),
    ];
    expect(messages[0]).toMatch(/the key does not decrypt this file/);
    expect(messages[1]).toMatch(/is damaged/);
    expect(messages[2]).toMatch(/cannot be decrypted: its IV and authentication tag live only in/);
    expect(new Set(messages).size).toBe(3);
  });

  it('without any key the preview asks for the profile\'s key (KEY_REQUIRED naming the slot)', async () => {
    const error = await dbackupModule.format.preview(sampleArchive(s), keyedContext(null)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KEY_REQUIRED', details: { slot: 'encryption-key:c9df6ad5d0e212794651ce7bf' } });
  });
});

describe('checksums without the key (the pull verifier)', () => {
  const verify = async (s: Sample, stored: Buffer, sidecar: Buffer | null) => {
    const verifier = new DbackupVerifier(s.fileName, () => (sidecar ? [{ name: `${s.fileName}.meta.json`, content: sidecar }] : []), stored.length);
    for (let at = 0; at < stored.length; at += 300) verifier.write(stored.subarray(at, at + 300));
    return verifier.finish(wholeArchiveOf(stored));
  };

  it('passes SHA-256 and MD5 of every database sample', async () => {
    for (const s of [SAMPLES.singleDb, SAMPLES.multiDb]) {
      const checks = await verify(s, s.stored, s.sidecar);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.map((c) => c.id)).toEqual(['size-listed', 'sidecar', 'sha256', 'md5']);
    }
  });

  it('fails on one changed byte, naming both hashes', async () => {
    const s = SAMPLES.singleDb;
    const changed = Buffer.from(s.stored);
    changed[100]! ^= 0xff;
    const checks = await verify(s, changed, s.sidecar);
    expect(checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['sha256', 'md5']);
    expect(checks.find((c) => c.id === 'sha256')?.detail).toMatch(/sidecar|meta\.json says/);
  });

  it('config backups: the size is checked, the checksum is skipped (DBackup writes none)', async () => {
    const s = SAMPLES.configWithSecrets;
    const checks = await verify(s, s.stored, s.sidecar);
    expect(checks.find((c) => c.id === 'size')?.ok).toBe(true);
    expect(checks.find((c) => c.id === 'sha256')?.skipped).toBeTruthy();
    const longer = Buffer.concat([s.stored, Buffer.from([0])]);
    expect((await verify(s, longer, s.sidecar)).find((c) => c.id === 'size')?.ok).toBe(false);
  });

  it('an encrypted file without its sidecar fails (it can never be decrypted); a plain one is only unchecked', async () => {
    expect((await verify(SAMPLES.singleDb, SAMPLES.singleDb.stored, null)).find((c) => c.id === 'sidecar')?.ok).toBe(false);
    const plain = (await verify(SAMPLES.configPlain, SAMPLES.configPlain.stored, null)).find((c) => c.id === 'sidecar');
    expect(plain?.ok).toBe(true);
    expect(plain?.skipped).toBeTruthy();
  });
});

describe('previews of the samples', () => {
  it('single database: sidecar facts and the Postgres TOC of the .sql (custom format) dump', async () => {
    const report = await dbackupModule.format.preview(sampleArchive(SAMPLES.singleDb), keyedContext());
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.integrity.checks.map((c) => c.id)).toEqual(['size-listed', 'sidecar', 'sha256', 'md5', 'gcm-tag', 'pg-dump']);
    const facts = Object.fromEntries(report.summary.map((f) => [f.label, f.value]));
    expect(facts).toMatchObject({ Job: expect.stringContaining('Loomio DB'), Source: 'Loomio Postgres — postgres', 'Engine version': '15.18', Databases: 'loomio_production', Compression: 'gzip', Trigger: 'Manual by Admin', 'Locked (kept by retention)': 'no' });
    expect(facts.Encryption).toMatch(/profile c9df6ad5d0e212794651ce7bf/);
    expect(report.contents.rows.length).toBeGreaterThan(2);
    expect(report.contents.rows.every((r) => r.database === 'loomio_production')).toBe(true);
    expect(report.compatibility.some((c) => c.label === 'pg_restore needed')).toBe(true);
  });

  it('multi-DB TAR: the manifest and both databases\' tables', async () => {
    const report = await dbackupModule.format.preview(sampleArchive(SAMPLES.multiDb), keyedContext());
    expect(report.integrity.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.integrity.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['tar-manifest', 'tar-members', 'toc:loomio_production', 'toc:analytics']));
    const databases = new Set(report.contents.rows.map((r) => r.database));
    expect(databases).toEqual(new Set(['loomio_production', 'analytics']));
    for (const db of databases) expect(report.contents.rows.filter((r) => r.database === db && r.table).length).toBeGreaterThan(0);
    expect(report.summary.find((f) => f.label === 'Databases in the TAR')?.value).toBe('loomio_production, analytics');
  });

  it('config backup with secrets: sections with counts and a loud warning about the master keys inside', async () => {
    const report = await dbackupModule.format.preview(sampleArchive(SAMPLES.configWithSecrets), keyedContext());
    expect(report.integrity.ok).toBe(true);
    expect(report.appVersion).toBe('3.2.0');
    const sections = Object.fromEntries(report.contents.rows.map((r) => [r.section, r]));
    expect(sections['Encryption profiles']).toMatchObject({ records: 1, secrets: 'every master key in clear' });
    expect(Number(sections['Jobs']?.records)).toBeGreaterThan(0);
    expect(report.summary.find((f) => f.label === 'Includes secrets')?.value).toMatch(/^YES/);
    expect(report.warnings.some((w) => /DANGER: this config backup holds the master key of every encryption profile in clear/.test(w))).toBe(true);
    expect(report.secrets.some((s) => /master keys in clear/.test(s))).toBe(true);
    expect(JSON.stringify(report)).not.toContain(SAMPLE_KEY_HEX);
  });

  it('config backup without secrets: no key needed, sections blanked, no warning about keys', async () => {
    const report = await dbackupModule.format.preview(sampleArchive(SAMPLES.configPlain), keyedContext(null));
    expect(report.integrity.ok).toBe(true);
    expect(report.integrity.checks.find((c) => c.id === 'gcm-tag')).toBeUndefined();
    expect(report.summary.find((f) => f.label === 'Includes secrets')?.value).toMatch(/^no/);
    expect(report.contents.rows.find((r) => r.section === 'Encryption profiles')?.secrets).toBe('no keys');
    expect(report.warnings.some((w) => /DANGER/.test(w))).toBe(false);
    expect(report.secrets.some((s) => /blanked/.test(s))).toBe(true);
  });

  it('the legacy flat sidecar shape reads the same', async () => {
    const current = JSON.parse(SAMPLES.configWithSecrets.sidecar.toString('utf8'));
    const legacy = { version: '1.0', originalName: current.originalName, size: current.size, compression: 'GZIP', encryption: 'AES-256-GCM', iv: current.encryption.iv, authTag: current.encryption.authTag, encryptionProfileId: current.encryptionProfileId, sourceType: 'SYSTEM', createdAt: current.createdAt };
    const report = await dbackupModule.format.preview(sampleArchive(SAMPLES.configWithSecrets, JSON.stringify(legacy)), keyedContext());
    expect(report.integrity.ok).toBe(true);
    expect(report.warnings.some((w) => /legacy flat shape/.test(w))).toBe(true);
    expect(parseDbackupSidecar(JSON.stringify({ ...legacy, encryption: 'NONE' }), 'x.meta.json').encryption).toBeNull();
  });

  it('a sidecar error names the field', () => {
    const sidecar = JSON.parse(SAMPLES.singleDb.sidecar.toString('utf8'));
    const bad = (change: Record<string, unknown>): string => {
      try {
        parseDbackupSidecar(JSON.stringify({ ...sidecar, ...change }), 'x.meta.json');
      } catch (error) {
        return `${(error as LifeboatError).details?.field as string}: ${(error as Error).message}`;
      }
      return 'parsed';
    };
    expect(bad({ encryption: { ...sidecar.encryption, iv: 'abcd' } })).toMatch(/^encryption\.iv: x\.meta\.json is not a valid DBackup sidecar: encryption\.iv must be 32 hex digits/);
    expect(bad({ checksum: 'zz' })).toMatch(/^checksum:/);
    expect(bad({ compression: 'LZMA' })).toMatch(/^compression:/);
    expect(bad({ version: 3 })).toMatch(/^version:/);
    expect(bad({ futureField: true })).toBe('parsed');
  });
});

describe('detection', () => {
  it('a parsing sidecar is strong, a DBackup name or .enc alone is weak', async () => {
    const probe = (fileName: string, sidecars: { name: string; content: Buffer }[], head: Buffer = Buffer.alloc(0)) => dbackupModule.detect({ fileName, size: null, head, sidecars });
    const s = SAMPLES.singleDb;
    expect(probe(s.fileName, [{ name: `${s.fileName}.meta.json`, content: s.sidecar }])?.confidence).toBeGreaterThanOrEqual(0.9);
    expect(probe(s.fileName, [])?.confidence).toBeLessThan(0.6);
    expect(probe('backup.enc', [], s.stored)?.confidence).toBeGreaterThan(0);
    expect(probe('backup.enc', [], s.stored)?.confidence).toBeLessThan(0.3);
    expect(probe('loomio.sql.enc', [], Buffer.from('gAAAAABrBDurNJKVwHkTIingZuT-vgyS'.repeat(4)))).toBeNull();
    expect(probe('notes.txt', [])).toBeNull();
  });

  it('pairs a backup with its .meta.json and a v2 archive with its .index', () => {
    expect(dbackupModule.sidecarOf?.('Loomio_DB_2026-11-23_13-12-50.sql.gz.enc.meta.json')).toBe('Loomio_DB_2026-11-23_13-12-50.sql.gz.enc');
    expect(dbackupModule.sidecarOf?.('Files_2026-11-24_02-00-00.tar.index')).toBe('Files_2026-11-24_02-00-00.tar');
    expect(dbackupModule.sidecarOf?.('Loomio_DB_2026-11-23_13-12-50.sql.gz.enc')).toBeNull();
    expect(dbackupModule.sidecarOf?.('.meta.json')).toBeNull();
  });
});
