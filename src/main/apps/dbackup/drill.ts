/**
 * DBackup's restore drill. A Postgres backup (one custom dump, the v1 multi-DB TAR, the v2
 * seekable archive) is first read as the preview reads it (SHA-256 and MD5 against the sidecar,
 * the AES-256-GCM tag with the profile's key from the keychain slot, decompression, every TOC),
 * then each custom dump it holds is handed to the drill engine: its COPY rows counted in a second
 * pass, its bytes decrypted and decompressed once more for pg_restore. A stream whose tag or
 * decompression fails at its end errors, so the restore of an altered archive fails even then.
 *
 * Anything else (config backups, MySQL, MongoDB, … dumps, plain SQL members) has no scratch
 * instance here: `postgres` returns no dump and the engine runs `structural`, which reports the
 * same checks (stored file against its sidecar, tag, decompression) and says what was not restored.
 */
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IntegrityCheck, PreviewReport } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import {
  archiveNonce, deriveArchiveKeys, readPayload, SealedEntryDecipher, type KeyRef, type PayloadCompression, type PayloadDecipher, type WholeFileSecrets,
} from '../../formats/gcm';
import type { PgDumpArchive } from '../../formats/pgdump';
import { readCopyData } from '../../formats/pgdump/copy-data';
import type { ArchiveAccess } from '../adapter';
import type { DrillPart, FormatContext, PostgresDrillDump, StructuralDrillReport } from '../module';
import { readContents, type PayloadContents } from './contents';
import { masterKeyFor } from './keys';
import { compressionFromName, previewDbackup } from './preview';
import { readSeekableContents } from './seekable-contents';
import { findSidecar, type DbackupSidecar } from './sidecar';
import { walkTar } from './tar-walk';

type Report = Omit<PreviewReport, 'source'>;

/** Where the plaintext of one dump is: the whole file (or a member of its TAR), or an entry of a v2 archive. */
type Location =
  | { kind: 'whole'; secrets: WholeFileSecrets | null; keyRef: KeyRef | null; compression: PayloadCompression; member: string | null }
  | { kind: 'entry'; member: string; seal: { key: Buffer; nonce: Buffer; keyRef: KeyRef } | null; compression: PayloadCompression };

/** One database the archive holds, before its rows are counted. */
interface FoundDump {
  label: string;
  toc: PgDumpArchive;
  at: Location;
}

/** The preview of an archive `postgres` read, for `structural` of the same archive (one read, not two). */
const previews = new WeakMap<ArchiveAccess, Report>();

/** A check fails the drill as the engine judges it. */
const failing = (c: IntegrityCheck): boolean => !c.ok && !c.skipped && c.kind !== 'compatibility';

function isSeekable(archive: ArchiveAccess, sidecar: DbackupSidecar | null): boolean {
  if (sidecar) return sidecar.archive !== null;
  return archive.fileName.endsWith('.tar') && archive.sidecars.some((s) => s.name === `${archive.fileName}.index`);
}

/**
 * A stream of a dump's plaintext, started only when first read (so whoever reads it already
 * listens for its errors); it ends only after the GCM tag and the decompression checked out.
 */
function plaintext(archive: ArchiveAccess, at: Location, signal: AbortSignal): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    const inner = new PassThrough();
    inner.on('error', () => undefined);
    const into = (body: Readable): Promise<void> => pipeline(body, inner, { end: false });
    const label = at.member ? `${archive.fileName}: ${at.member}` : archive.fileName;
    const run = async (): Promise<void> => {
      let found = at.member === null;
      const visit = (name: string, read: (body: Readable) => Promise<void>) => (member: { name: string }) => (member.name === name ? async (body: Readable) => {
        found = true;
        await read(body);
      } : null);
      const stored = await archive.open();
      if (at.kind === 'whole') {
        const outcome = await readPayload(stored, {
          label,
          secrets: at.secrets,
          ...(at.keyRef ? { keyRef: at.keyRef } : {}),
          compression: at.compression,
          signal,
          read: at.member === null ? into : async (plain) => {
            await walkTar(plain, archive.fileName, visit(at.member!, into));
          },
        });
        const failure = outcome.decryptError ?? outcome.readError;
        if (failure) throw failure;
      } else {
        await walkTar(stored, archive.fileName, visit(at.member, async (body) => {
          const decipher: PayloadDecipher | undefined = at.seal ? new SealedEntryDecipher(at.seal.key, at.seal.nonce, { label, compression: at.compression, keyRef: at.seal.keyRef }) : undefined;
          const outcome = await readPayload(body, { label, secrets: null, ...(decipher ? { decipher } : {}), compression: at.compression, signal, read: into });
          const failure = outcome.decryptError ?? outcome.readError;
          if (failure) throw failure;
        }));
      }
      if (!found) throw new LifeboatError('ARCHIVE_INVALID', `${archive.fileName} no longer holds ${at.member}.`);
    };
    run().then(() => inner.end(), (error: unknown) => inner.destroy(error instanceof Error ? error : new Error(String(error))));
    yield* inner as AsyncIterable<Buffer>;
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** The custom dumps of a whole-file backup (one dump, or the TAR's), and checks of the members left out. */
async function wholeFileDumps(archive: ArchiveAccess, sidecar: DbackupSidecar | null, ctx: FormatContext): Promise<{ dumps: FoundDump[]; skipped: IntegrityCheck[] }> {
  const compression = sidecar?.compression ?? compressionFromName(archive.fileName);
  let secrets: WholeFileSecrets | null = null;
  let keyRef: KeyRef | null = null;
  if (sidecar?.encryption) {
    const { iv, authTag, profileId } = sidecar.encryption;
    if (!iv || !authTag) return { dumps: [], skipped: [] };
    const master = await masterKeyFor(ctx.keys, profileId, archive.fileName);
    secrets = { key: master.key, iv, authTag };
    keyRef = master.ref;
  }
  const outcome = await readPayload<PayloadContents>(await archive.open(), {
    label: archive.fileName,
    secrets,
    ...(keyRef ? { keyRef } : {}),
    compression,
    signal: ctx.signal,
    read: (plain) => readContents(plain, archive.fileName, { signal: ctx.signal }),
  });
  const failure = outcome.decryptError ?? outcome.readError;
  if (failure) throw failure;
  const contents = outcome.value;
  const whole = (member: string | null): Location => ({ kind: 'whole', secrets, keyRef, compression, member });
  if (contents?.kind === 'pg-custom') {
    return { dumps: [{ label: contents.archive.header.dbname ?? sidecar?.databases?.[0] ?? archive.fileName, toc: contents.archive, at: whole(null) }], skipped: [] };
  }
  if (contents?.kind !== 'multi-db-tar') return { dumps: [], skipped: [] };
  const dumps: FoundDump[] = [];
  const skipped: IntegrityCheck[] = [];
  for (const db of contents.databases) {
    if (db.archive && db.member) dumps.push({ label: db.name, toc: db.archive, at: whole(db.member.name) });
    else skipped.push(notRestored(db.name, `${db.format} dump ${db.filename}${db.problem ? ` (${db.problem})` : ''}`));
  }
  return { dumps, skipped };
}

/** The custom dumps of a v2 seekable archive, with the key and nonce of each entry. */
async function seekableDumps(archive: ArchiveAccess, ctx: FormatContext): Promise<{ dumps: FoundDump[]; skipped: IntegrityCheck[] }> {
  const read = await readSeekableContents(await archive.open(), archive.fileName, archive.sidecars, ctx.keys, { signal: ctx.signal });
  if (!read.manifest || !read.index) return { dumps: [], skipped: [] };
  const encryption = read.manifest.encryption ?? null;
  const master = encryption ? await masterKeyFor(ctx.keys, encryption.profileId, archive.fileName) : null;
  const dataKey = encryption && master ? deriveArchiveKeys(master.key, encryption.kdfSalt).data : null;
  const dumps: FoundDump[] = [];
  const skipped: IntegrityCheck[] = [];
  for (const db of read.databases) {
    const entry = db.entry;
    const line = entry ? read.index.entryLines.find((e) => e.member === entry.member) : undefined;
    if (!entry?.toc || db.format !== 'custom' || !line) {
      skipped.push(notRestored(db.name, `${db.format ?? 'unknown'} dump${db.problem ? ` (${db.problem})` : ''}`));
      continue;
    }
    const seal = encryption && dataKey && master ? { key: dataKey, nonce: archiveNonce(encryption.noncePrefix, line.n), keyRef: master.ref } : null;
    dumps.push({ label: db.name, toc: entry.toc, at: { kind: 'entry', member: entry.member, seal, compression: line.comp } });
  }
  return { dumps, skipped };
}

function notRestored(name: string, what: string): IntegrityCheck {
  return { id: `not-restored:${name}`, kind: 'verification', name: `Database ${name}`, ok: false, skipped: `a ${what}: Lifeboat's drill restores pg_dump custom archives only`, detail: `not restored: a ${what}` };
}

/** Rows per table of a dump, from its COPY data (a pass over its plaintext). */
async function countedTables(archive: ArchiveAccess, dump: FoundDump, ctx: FormatContext): Promise<PostgresDrillDump['tables']> {
  ctx.progress({ phase: `counting the rows of ${dump.label} in the archive`, bytes: 0, total: null });
  const data = await readCopyData(plaintext(archive, dump.at, ctx.signal), dump.toc, { signal: ctx.signal, label: `${archive.fileName} (${dump.label})` });
  return dump.toc.tables.map((t) => ({
    table: t.schema ? `${t.schema}.${t.name}` : t.name,
    rows: !t.hasData ? 0 : t.dataDumpId !== null ? (data.get(t.dataDumpId)?.rows ?? null) : 0,
  }));
}

export const dbackupDrill: DrillPart = {
  async postgres(archive, ctx) {
    const report = await previewDbackup(archive, ctx);
    previews.set(archive, report);
    const { sidecar } = findSidecar(archive.fileName, archive.sidecars);
    const checks = report.integrity.checks;
    const postgres = sidecar?.kind === 'database' && sidecar.sourceType.toLowerCase() === 'postgres';
    if (checks.some(failing)) {
      // An altered Postgres backup is a failed drill (the engine names the check); anything else fails its structural drill.
      if (!postgres) return [];
      return [{ label: archive.fileName, format: 'custom', open: () => Promise.reject(new LifeboatError('ARCHIVE_INVALID', `${archive.fileName} failed its checks.`)), tables: [], checks }];
    }
    const found = isSeekable(archive, sidecar) ? await seekableDumps(archive, ctx) : await wholeFileDumps(archive, sidecar, ctx);
    if (found.dumps.length === 0) return [];
    const dumps: PostgresDrillDump[] = [];
    for (const [index, dump] of found.dumps.entries()) {
      dumps.push({
        label: dump.label,
        format: 'custom',
        open: async () => plaintext(archive, dump.at, ctx.signal),
        tables: await countedTables(archive, dump, ctx),
        // The archive's checks once, with the first dump.
        checks: index === 0 ? [...checks, ...found.skipped] : [],
      });
    }
    return dumps;
  },

  async structural(archive, ctx): Promise<StructuralDrillReport> {
    const report = previews.get(archive) ?? (await previewDbackup(archive, ctx));
    previews.delete(archive);
    const { sidecar } = findSidecar(archive.fileName, archive.sidecars);
    const checked = ['the stored file against its .meta.json (size, SHA-256, MD5)'];
    if (report.integrity.checks.some((c) => c.id === 'gcm-tag' || c.id === 'v2-entries')) checked.push('decrypted with the encryption profile\'s key from the keychain: every AES-256-GCM tag');
    checked.push('decompressed and read to the end');
    const what = sidecar?.kind === 'config'
      ? 'a DBackup config backup, which only DBackup\'s web UI restores'
      : `a ${sidecar?.sourceType ?? 'unknown engine\'s'} backup${sidecar?.sourceType.toLowerCase() === 'postgres' ? ' holding no pg_dump custom archive' : ''}: Lifeboat has no scratch instance for it`;
    checked.push(`not restored: ${what}`);
    const tables = sidecar?.kind === 'config'
      ? report.contents.rows.map((r) => ({ table: String(r.section), rows: typeof r.records === 'number' ? r.records : null }))
      : [];
    return { checks: report.integrity.checks, tables, checked };
  },
};
