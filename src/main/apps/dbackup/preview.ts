/**
 * The preview of a DBackup backup. One pass over the stored bytes: SHA-256 and MD5 against the
 * sidecar, then (with the profile's key when encrypted) AES-256-GCM and decompression into the
 * content reader. What was read is shown only when the GCM tag matched at the end; a wrong key,
 * a damaged file and a missing sidecar are failed checks with their own words, not exceptions.
 */
import { createReadStream } from 'node:fs';
import type { IntegrityCheck, PreviewReport } from '../../../shared/apps';
import type { LifeboatError } from '../../../shared/errors';
import { DecompressBudget } from '../../formats/decompress-budget';
import { minPgRestoreMajor, type PgDumpArchive } from '../../formats/pgdump';
import { Transform, type Readable } from 'node:stream';
import { PARALLEL_HASH_MIN_BYTES, ParallelHasher } from '../../formats/hash-worker';
import { noSidecarError, readPayload, type KeyRef, type PayloadCompression, type PayloadOutcome, type WholeFileSecrets } from '../../formats/gcm';
import type { ArchiveAccess } from '../adapter';
import type { FormatContext } from '../module';
import { namedEncrypted, storedFileChecks, type StoredFacts } from './checks';
import { CONFIG_NOT_INCLUDED } from './config-backup';
import { readContents, type PayloadContents } from './contents';
import { masterKeyFor } from './keys';
import { readSeekableContents, type SeekableContents } from './seekable-contents';
import { findSidecar, sidecarNameFor, type DbackupSidecar, type SidecarLookup } from './sidecar';

type Report = Omit<PreviewReport, 'source'>;
type Contents = PreviewReport['contents'];

/** Compression as the file name says it (`.gz` / `.br` before `.enc`). */
export function compressionFromName(fileName: string): PayloadCompression {
  const bare = fileName.replace(/\.enc$/, '');
  return bare.endsWith('.gz') ? 'gzip' : bare.endsWith('.br') ? 'brotli' : 'none';
}

/** Whether a sidecar or the name says the file is a v2 seekable archive (a bare `.tar` with an index). */
function isSeekable(fileName: string, sidecar: DbackupSidecar | null, sidecars: ArchiveAccess['sidecars']): boolean {
  if (sidecar) return sidecar.archive !== null;
  return fileName.endsWith('.tar') && sidecars.some((s) => s.name === `${fileName}.index`);
}

/** A file on this machine is read in blocks of this size (the default 64 KiB costs a trip through every stream per block). */
const LOCAL_READ_BYTES = 1024 * 1024;

/** The stored bytes: a local file in big blocks, anything else as its source streams it. */
async function openStored(archive: ArchiveAccess): Promise<Readable> {
  return archive.localPath ? createReadStream(archive.localPath, { highWaterMark: LOCAL_READ_BYTES }) : archive.open();
}

/** Builds the preview report of a DBackup file. */
export async function previewDbackup(archive: ArchiveAccess, ctx: FormatContext): Promise<Report> {
  // SHA-256 and MD5 on their own threads, beside the decryption on this one (inline for small files).
  const hasher = new ParallelHasher(['sha256', 'md5'], { inline: archive.size !== null && archive.size < PARALLEL_HASH_MIN_BYTES });
  try {
    return await previewWith(archive, ctx, hasher);
  } finally {
    await hasher.close();
  }
}

async function previewWith(archive: ArchiveAccess, ctx: FormatContext, hasher: ParallelHasher): Promise<Report> {
  const lookup = findSidecar(archive.fileName, archive.sidecars);
  const onStoredChunk = (chunk: Buffer): Promise<void> | undefined => {
    const hashed = hasher.update(chunk);
    ctx.progress({ phase: 'reading', bytes: hasher.bytes, total: archive.size });
    return hashed;
  };
  const facts = async (): Promise<StoredFacts> => {
    const size = hasher.bytes;
    const { sha256, md5 } = await hasher.digest();
    return { size, sha256, md5 };
  };

  if (isSeekable(archive.fileName, lookup.sidecar, archive.sidecars)) {
    const source = await openStored(archive);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const hashed = onStoredChunk(chunk);
        if (!hashed) return done(null, chunk);
        hashed.then(() => done(null, chunk), done);
      },
    });
    source.once('error', (error) => tap.destroy(error));
    tap.once('close', () => source.destroy());
    const contents = await readSeekableContents(source.pipe(tap), archive.fileName, archive.sidecars, ctx.keys, { signal: ctx.signal });
    return seekableReport(archive, lookup, await facts(), contents);
  }

  const sidecar = lookup.sidecar;
  const encrypted = sidecar ? sidecar.encryption !== null : namedEncrypted(archive.fileName);
  const compression = sidecar?.compression ?? compressionFromName(archive.fileName);
  let cannotDecrypt: LifeboatError | null = null;
  let secrets: WholeFileSecrets | null = null;
  let keyRef: KeyRef | undefined;
  if (encrypted) {
    const iv = sidecar?.encryption?.iv ?? null;
    const authTag = sidecar?.encryption?.authTag ?? null;
    if (!sidecar) cannotDecrypt = noSidecarError(archive.fileName, sidecarNameFor(archive.fileName), lookup.file ? `it is not valid (${lookup.problem?.message ?? 'unreadable'})` : 'it did not come with the file');
    else if (!iv || !authTag) cannotDecrypt = noSidecarError(archive.fileName, sidecar.name, `it names no ${!iv ? 'IV' : 'authentication tag'}`);
    else {
      const master = await masterKeyFor(ctx.keys, sidecar.encryption?.profileId ?? null, archive.fileName);
      secrets = { key: master.key, iv, authTag };
      keyRef = master.ref;
    }
  }
  const canRead = !encrypted || secrets !== null;
  const budget = new DecompressBudget(archive.fileName);
  const outcome = await readPayload<PayloadContents>(await openStored(archive), {
    label: archive.fileName,
    secrets,
    ...(keyRef ? { keyRef } : {}),
    compression,
    budget,
    signal: ctx.signal,
    onStoredChunk,
    read: canRead ? (plaintext) => readContents(plaintext, archive.fileName, { signal: ctx.signal, budget }) : null,
  });
  return wholeFileReport(archive, lookup, await facts(), { encrypted, compression, cannotDecrypt, outcome, read: canRead });
}

/** Headline facts of a sidecar. */
function sidecarFacts(sidecar: DbackupSidecar | null): Report['summary'] {
  const summary: Report['summary'] = [];
  const fact = (label: string, value: string | number | boolean | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') summary.push({ label, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value) });
  };
  if (!sidecar) return summary;
  fact('Kind', sidecar.kind === 'config' ? 'DBackup config backup (Meta-Backup)' : sidecar.archive ? 'seekable archive (format v2)' : sidecar.multiDb ? 'multi-database TAR (manifest v1)' : 'single database dump');
  fact('Job', sidecar.jobName ? `${sidecar.jobName}${sidecar.jobId ? ` (${sidecar.jobId})` : ''}` : null);
  fact('Source', sidecar.kind === 'config' ? 'DBackup itself (SYSTEM)' : `${sidecar.sourceName ?? '(unnamed)'} — ${sidecar.sourceType}`);
  fact('Engine version', sidecar.engineVersion ? `${sidecar.engineVersion}${sidecar.engineEdition ? ` ${sidecar.engineEdition}` : ''}` : null);
  fact('Databases', sidecar.databases ? sidecar.databases.join(', ') : sidecar.databaseCount);
  fact('Compression', sidecar.archive ? 'per entry (see the index)' : sidecar.compression);
  fact('Encryption', sidecar.encryption ? `AES-256-GCM, profile ${sidecar.encryption.profileId ?? '(unnamed)'}` : sidecar.archive?.encrypted ? `per entry, profile ${sidecar.archive.profileId ?? '(unnamed)'}` : 'none');
  fact('Trigger', sidecar.trigger ? `${sidecar.trigger.type}${sidecar.trigger.actor ? ` by ${sidecar.trigger.actor}` : ''}` : null);
  fact('Backup type', sidecar.backupType);
  fact('Locked (kept by retention)', sidecar.locked);
  fact('Created', sidecar.createdAt);
  if (sidecar.verification) fact('Last DBackup integrity check', `${sidecar.verification.passed ? 'passed' : 'FAILED'} at ${sidecar.verification.verifiedAt}`);
  return summary;
}

/** Warnings any DBackup file can earn from its sidecar and name. */
function sidecarWarnings(fileName: string, lookup: SidecarLookup, compression: PayloadCompression | null): string[] {
  const warnings: string[] = [];
  const { sidecar } = lookup;
  if (!sidecar) {
    warnings.push(lookup.file ? `${lookup.problem?.message ?? 'The sidecar is not valid.'}` : `No ${sidecarNameFor(fileName)} came with the file: without it, DBackup cannot restore it${namedEncrypted(fileName) ? ' and nobody can decrypt it' : ''}.`);
    return warnings;
  }
  if (sidecar.shape === 'legacy-flat') warnings.push(`${sidecar.name} has the legacy flat shape (DBackup builds of 2026-01-30); it was read as DBackup's own parser reads it.`);
  if (sidecar.unknownFields.length > 0) warnings.push(`${sidecar.name} has fields this Lifeboat does not know (${sidecar.unknownFields.slice(0, 8).join(', ')}): made by a newer DBackup?`);
  const expected = sidecar.kind === 'config' ? fileName.replace(/\.gz(\.enc)?$/, '') : fileName;
  if (sidecar.recordedName && sidecar.recordedName !== expected) warnings.push(`${sidecar.name} records the name ${sidecar.recordedName}, not ${expected}: the file was renamed, or the sidecar belongs to another backup.`);
  if (compression && compression !== compressionFromName(fileName) && sidecar.kind === 'database') warnings.push(`The sidecar says ${compression} compression but the file name says ${compressionFromName(fileName)}; the sidecar was followed.`);
  if (sidecar.verification && !sidecar.verification.passed) warnings.push(`DBackup's own integrity check of this file failed at ${sidecar.verification.verifiedAt}.`);
  return warnings;
}

function decryptCheck(encrypted: boolean, cannotDecrypt: LifeboatError | null, outcome: PayloadOutcome<unknown> | null, read: boolean): IntegrityCheck | null {
  if (!encrypted) return null;
  const base = { id: 'gcm-tag', kind: 'integrity' as const, name: 'AES-256-GCM authentication tag' };
  if (cannotDecrypt) return { ...base, ok: false, detail: cannotDecrypt.message };
  if (!read || !outcome) return { ...base, ok: false, detail: 'not decrypted' };
  if (outcome.decryptError) return { ...base, ok: false, detail: outcome.decryptError.message };
  if (outcome.stopped) return { ...base, ok: false, detail: 'not checked: reading stopped at a decompression bomb, before the tag' };
  return { ...base, ok: true, detail: 'the tag matches: the decrypted bytes are exactly what DBackup encrypted' };
}

const tableColumns: Contents['columns'] = [
  { key: 'database', label: 'Database' },
  { key: 'schema', label: 'Schema' },
  { key: 'table', label: 'Table' },
  { key: 'holds', label: 'Holds' },
  { key: 'dataBytes', label: 'Stored data (bytes)', numeric: true },
];

function tableRows(database: string, archive: PgDumpArchive): Contents['rows'] {
  return archive.tables.map((t) => ({ database, schema: t.schema, table: t.name, holds: t.hasData ? 'schema and data' : 'schema only', dataBytes: t.dataBytes }));
}

function pgFacts(archive: PgDumpArchive): string {
  const { header } = archive;
  return `PGDMP archive ${header.version}, pg_dump ${header.pgDumpVersion ?? '?'}, database ${header.dbname ?? '?'}: ${archive.tocCount} TOC entries, ${archive.tables.length} tables, data blocks to byte ${archive.fileSize ?? '?'}`;
}

/** Contents, checks and extras of what the payload held. */
function describeContents(contents: PayloadContents, sidecar: DbackupSidecar | null) {
  const checks: IntegrityCheck[] = [];
  const warnings: string[] = [];
  const secrets: string[] = [];
  const summary: Report['summary'] = [];
  const compatibility: Report['compatibility'] = [];
  let table: Contents;
  let appVersion: string | null = null;
  const notIncluded: string[] = [];

  if (contents.kind === 'pg-custom') {
    checks.push({ id: 'pg-dump', kind: 'integrity', name: 'pg_dump custom archive', ok: true, detail: pgFacts(contents.archive) });
    table = { title: 'Tables in the dump', columns: tableColumns, rows: tableRows(contents.archive.header.dbname ?? '', contents.archive) };
    summary.push({ label: 'pg_dump version', value: contents.archive.header.pgDumpVersion ?? '?' }, { label: 'Tables', value: String(contents.archive.tables.length) });
    compatibility.push({ label: 'pg_restore needed', value: `PostgreSQL ${minPgRestoreMajor(contents.archive.header)} or newer`, ok: null });
    if (sidecar && !sidecar.databases?.includes(contents.archive.header.dbname ?? '')) warnings.push(`The dump is of database ${contents.archive.header.dbname ?? '?'}, the sidecar names ${sidecar.databases?.join(', ') ?? 'none'}.`);
  } else if (contents.kind === 'multi-db-tar') {
    const manifestOk = contents.manifest !== null && contents.firstMember === 'manifest.json';
    checks.push({ id: 'tar-manifest', kind: 'integrity', name: 'Multi-DB manifest', ok: manifestOk, detail: manifestOk ? `manifest.json lists ${contents.manifest?.databases.length ?? 0} database(s)` : contents.manifestProblem ?? `the first member is ${contents.firstMember ?? 'nothing'}, not manifest.json` });
    const missing = contents.databases.filter((d) => d.member === null);
    const wrongSize = contents.databases.filter((d) => d.member && d.manifestSize !== null && d.member.size !== d.manifestSize);
    if (contents.manifest) {
      checks.push({
        id: 'tar-members', kind: 'integrity', name: 'Every database in the TAR',
        ok: missing.length === 0 && wrongSize.length === 0,
        detail: missing.length > 0 ? `the manifest names ${missing.map((d) => d.filename).join(', ')}, which the TAR does not hold` : wrongSize.length > 0 ? `sizes differ from the manifest: ${wrongSize.map((d) => `${d.filename} has ${d.member?.size} bytes, the manifest says ${d.manifestSize}`).join('; ')}` : `${contents.databases.map((d) => d.filename).join(', ')} present, sizes as in the manifest`,
      });
    }
    for (const db of contents.databases.filter((d) => d.member && d.format === 'custom')) {
      checks.push({ id: `toc:${db.name}`, kind: 'integrity', name: `pg_dump archive of ${db.name}`, ok: db.archive !== null, detail: db.archive ? pgFacts(db.archive) : (db.problem ?? 'not read') });
    }
    if (contents.strayMembers.length > 0) warnings.push(`The TAR holds members the manifest does not name: ${contents.strayMembers.map((m) => m.name).join(', ')}.`);
    const names = contents.databases.map((d) => d.name);
    if (sidecar?.multiDb && sidecar.multiDb.join('\u0000') !== names.join('\u0000')) warnings.push(`The sidecar lists ${sidecar.multiDb.join(', ')}, the TAR's manifest ${names.join(', ') || 'nothing'}.`);
    summary.push({ label: 'Databases in the TAR', value: names.join(', ') || '(none)' });
    table = {
      title: 'Databases and their tables',
      columns: tableColumns,
      rows: contents.databases.flatMap((d) => (d.archive ? tableRows(d.name, d.archive) : [{ database: d.name, schema: null, table: null, holds: d.problem ?? `${d.format} dump (${d.filename}): Lifeboat does not read its contents`, dataBytes: d.member?.size ?? null }])),
    };
    const newest = contents.databases.map((d) => d.archive).filter((a): a is PgDumpArchive => a !== null).map((a) => minPgRestoreMajor(a.header));
    if (newest.length > 0) compatibility.push({ label: 'pg_restore needed', value: `PostgreSQL ${Math.max(...newest)} or newer`, ok: null });
  } else if (contents.kind === 'config') {
    const { summary: config } = contents;
    appVersion = config.appVersion;
    checks.push({ id: 'config-json', kind: 'integrity', name: 'Config backup JSON', ok: true, detail: `DBackup ${config.appVersion} configuration, exported ${config.exportedAt ?? '(time unknown)'}` });
    summary.push({ label: 'DBackup version', value: config.appVersion }, { label: 'Includes secrets', value: config.includeSecrets ? 'YES — in clear inside the file' : 'no (blanked on export)' });
    table = { title: 'Sections', columns: [{ key: 'section', label: 'Section' }, { key: 'records', label: 'Records', numeric: true }, { key: 'secrets', label: 'Secrets' }], rows: config.sections.map((s) => ({ section: s.label, records: s.records, secrets: s.records === null ? 'absent' : s.secrets })) };
    if (config.profilesWithKeys.length > 0) {
      const names = config.profilesWithKeys.map((p) => p.name ?? p.id ?? '(unnamed)').join(', ');
      warnings.push(`DANGER: this config backup holds the master key of every encryption profile in clear (${config.profilesWithKeys.length}: ${names}). Whoever decrypts it with one profile's key gets all the others. Keep it, and every copy in the vault, as safe as the keys themselves.`);
      secrets.push(`Encryption profile master keys in clear: ${names}.`);
    }
    if (config.includeSecrets) secrets.push('Passwords, tokens and keys of sources, destinations, notifiers, credential profiles and SSO providers, in clear; user password hashes.');
    else secrets.push('Exported without secrets: passwords, tokens and keys are blanked; after an import they must be entered again.');
    if (!config.includeSecrets && config.profilesWithKeys.length > 0) warnings.push('metadata.includeSecrets is false, yet encryption profile keys are inside.');
    if (config.unknownSections.length > 0) warnings.push(`Sections this Lifeboat does not know: ${config.unknownSections.join(', ')}.`);
    notIncluded.push(...CONFIG_NOT_INCLUDED);
    compatibility.push({ label: 'Restore', value: 'only in DBackup\'s web UI (Storage Explorer, or upload with the .meta.json): it has no API for config restores', ok: null });
  } else {
    table = { title: 'Payload', columns: [{ key: 'what', label: 'What' }, { key: 'bytes', label: 'Bytes', numeric: true }], rows: [{ what: contents.what, bytes: contents.bytes }] };
    notIncluded.push(`Lifeboat does not read ${sidecar?.sourceType ?? 'this engine\'s'} dumps: it shows the sidecar's facts and checks the file, but not what is inside (${contents.what}).`);
  }
  return { checks, warnings, secrets, summary, compatibility, table, appVersion, notIncluded };
}

interface WholeFileRead {
  encrypted: boolean;
  compression: PayloadCompression;
  cannotDecrypt: LifeboatError | null;
  outcome: PayloadOutcome<PayloadContents>;
  read: boolean;
}

function wholeFileReport(archive: ArchiveAccess, lookup: SidecarLookup, facts: StoredFacts, { encrypted, compression, cannotDecrypt, outcome, read }: WholeFileRead): Report {
  const { sidecar } = lookup;
  const checks = storedFileChecks(archive.fileName, lookup, facts, archive.size);
  const tag = decryptCheck(encrypted, cannotDecrypt, outcome, read);
  if (tag) checks.push(tag);
  const warnings = sidecarWarnings(archive.fileName, lookup, sidecar ? compression : null);
  const summary = sidecarFacts(sidecar);
  const secrets: string[] = [];
  const notIncluded: string[] = [];
  const compatibility: Report['compatibility'] = [];
  let contents: Contents = { title: 'File', columns: [{ key: 'name', label: 'Name' }, { key: 'bytes', label: 'Bytes', numeric: true }], rows: [{ name: archive.fileName, bytes: facts.size }] };
  let appVersion: string | null = null;

  if (encrypted) secrets.push(`Encrypted with the master key of profile ${sidecar?.encryption?.profileId ?? '(unknown)'}; the key is not in the file. Keep a Recovery Kit: without the key nobody can restore it.`);
  if (outcome.value) {
    const described = describeContents(outcome.value, sidecar);
    checks.push(...described.checks);
    warnings.push(...described.warnings);
    secrets.push(...described.secrets);
    summary.push(...described.summary);
    compatibility.push(...described.compatibility);
    notIncluded.push(...described.notIncluded);
    contents = described.table;
    appVersion = described.appVersion;
  } else if (outcome.readError) {
    checks.push({ id: 'payload', kind: 'integrity', name: 'Contents', ok: false, detail: outcome.readError.message });
  } else if (outcome.authenticated === false) {
    warnings.push('The contents were decrypted but not authenticated; they are not shown.');
  }
  if (sidecar?.kind !== 'config') notIncluded.push('DBackup\'s own configuration (jobs, destinations, encryption profiles): that is the config backup in config-backups/.');
  if (sidecar?.kind === 'database') compatibility.push({ label: 'Restore', value: 'through DBackup itself (it runs pg_restore, mysql, … on the target source)', ok: null });
  if (!encrypted && sidecar?.kind === 'database') warnings.push('This backup is not encrypted: anyone who can read the destination can read it.');
  summary.push({ label: 'SHA-256', value: facts.sha256 });
  return {
    app: 'dbackup',
    fileName: archive.fileName,
    sizeBytes: facts.size,
    appVersion,
    createdAt: sidecar?.createdAt ?? archive.mtime?.toISOString() ?? null,
    integrity: { ok: checks.every((c) => c.ok), checks },
    summary,
    contents,
    notIncluded,
    secrets,
    warnings,
    compatibility,
    sidecars: archive.sidecars.map((s) => ({ name: s.name, text: s.content.toString('utf8') })),
    // The databases of a multi-DB backup, for a restore of chosen ones (DBackup's databaseMapping).
    selectable: outcome.value?.kind === 'multi-db-tar' && outcome.value.databases.length > 0 ? outcome.value.databases.map((d) => d.name) : sidecar?.kind === 'database' && (sidecar.databases?.length ?? 0) > 1 ? [...sidecar.databases!] : [],
    ...keyRejectedBy(outcome.decryptError),
  };
}

/** A wrong key (KEY_REQUIRED, reason wrong-key) as the report's request for another one. */
function keyRejectedBy(error: LifeboatError | null | undefined): Pick<Report, 'keyRejected'> {
  if (error?.code !== 'KEY_REQUIRED' || typeof error.details?.slot !== 'string') return {};
  return { keyRejected: { slot: error.details.slot, label: String(error.details.label ?? 'key'), message: error.message } };
}

function seekableReport(archive: ArchiveAccess, lookup: SidecarLookup, facts: StoredFacts, read: SeekableContents): Report {
  const { sidecar } = lookup;
  const checks = storedFileChecks(archive.fileName, lookup, facts, archive.size);
  checks.push({ id: 'v2-manifest', kind: 'integrity', name: 'Archive manifest (v2)', ok: read.manifest !== null, detail: read.manifest ? `manifest.json: ${read.manifest.counts.databases} database(s), ${read.manifest.counts.directorySources} directory source(s), ${read.manifest.counts.files} file(s) in ${read.manifest.counts.entries} entries` : read.manifestProblem ?? 'missing' });
  if (read.manifest) checks.push({ id: 'v2-index', kind: 'integrity', name: 'Archive index', ok: read.index !== null, detail: read.index ? `${read.index.entries} entries, ${read.index.databases.length} database(s), ${read.index.files} file(s)${read.manifest.encryption ? ' (unsealed with the profile key)' : ''}` : read.indexProblem ?? 'missing' });
  if (read.indexMatchesSidecar !== null) checks.push({ id: 'v2-index-copy', kind: 'integrity', name: 'Index sidecar is the last member', ok: read.indexMatchesSidecar, detail: read.indexMatchesSidecar ? `${archive.fileName}.index is byte-identical to the index member` : `${archive.fileName}.index differs from the archive's index member` });
  const summary = sidecarFacts(sidecar);
  const warnings = sidecarWarnings(archive.fileName, lookup, null);
  const manifest = read.manifest;
  if (manifest) {
    summary.push({ label: 'Archive format', value: `seekable TAR, manifest v2${manifest.chain ? `, ${manifest.chain.type} #${manifest.chain.index} of chain ${manifest.chain.id}` : ''}` });
    summary.push({ label: 'Files', value: `${manifest.counts.files} in ${manifest.counts.directorySources} directory source(s), ${manifest.totalSize} bytes` });
  }
  checks.push(...entryChecks(read));
  const rows: Contents['rows'] = [
    ...(read.index ? read.databases : []).flatMap((d) => (d.entry?.toc
      ? tableRows(d.name, d.entry.toc).map((row) => ({ ...row, files: null }))
      : [{ database: d.name, schema: null, table: null, holds: d.problem ?? `${d.format ?? '?'} dump: Lifeboat does not read its contents`, dataBytes: d.size, files: null }])),
    ...(read.index?.directories ?? []).map((d) => ({ database: d.label ?? d.id, schema: null, table: null, holds: 'directory source', dataBytes: d.bytes, files: d.files })),
  ];
  const tocs = read.databases.map((d) => d.entry?.toc).filter((t): t is PgDumpArchive => Boolean(t));
  const compatibility: Report['compatibility'] = [{ label: 'Restore', value: 'through DBackup itself', ok: null }];
  if (tocs.length > 0) compatibility.push({ label: 'pg_restore needed', value: `PostgreSQL ${Math.max(...tocs.map((t) => minPgRestoreMajor(t.header)))} or newer`, ok: null });
  if (read.databases.length > 0) summary.push({ label: 'Databases in the archive', value: read.databases.map((d) => d.name).join(', ') });
  if (manifest?.chain && manifest.chain.type !== 'full') warnings.push('An incremental archive: its index points into earlier archives of the chain, which a restore needs too.');
  return {
    app: 'dbackup',
    fileName: archive.fileName,
    sizeBytes: facts.size,
    appVersion: null,
    createdAt: manifest?.createdAt ?? sidecar?.createdAt ?? archive.mtime?.toISOString() ?? null,
    integrity: { ok: checks.every((c) => c.ok), checks },
    summary: [...summary, { label: 'SHA-256', value: facts.sha256 }],
    contents: { title: 'Databases (with their tables) and directory sources', columns: [...tableColumns, { key: 'files', label: 'Files', numeric: true }], rows },
    notIncluded: ['Directory files are checked (tag, decompression, SHA-256 against the index) but not listed one by one; DBackup (or its Recovery Kit, --extract) unpacks them.'],
    secrets: manifest?.encryption ? [`Entries are encrypted with keys derived from the master key of profile ${manifest.encryption.profileId}; the key is not in the archive.`] : [],
    warnings,
    compatibility,
    sidecars: archive.sidecars.filter((s) => s.name.endsWith('.meta.json')).map((s) => ({ name: s.name, text: s.content.toString('utf8') })),
    // The databases inside, for a restore of chosen ones (DBackup's databaseMapping).
    selectable: read.databases.map((d) => d.name),
    ...keyRejectedBy(read.indexFailure ?? read.entryFailure),
  };
}

/** The checks of a v2 archive's entries: every one opened (tag, decompression), each database's TOC, the files' SHA-256. */
function entryChecks(read: SeekableContents): IntegrityCheck[] {
  if (!read.manifest) return [];
  const checks: IntegrityCheck[] = [];
  const encrypted = Boolean(read.manifest.encryption);
  const failed = read.entries.filter((e) => e.problem !== null);
  checks.push({
    id: 'v2-entries', kind: 'integrity', name: encrypted ? 'Every entry unsealed (AES-256-GCM tag) and decompressed' : 'Every entry decompressed',
    ok: failed.length === 0 && read.entries.length === read.manifest.counts.entries,
    detail: failed.length > 0
      ? `${failed.length} of ${read.entries.length} entries failed; first: ${failed[0]!.problem}`
      : read.entries.length !== read.manifest.counts.entries
        ? `the archive holds ${read.entries.length} data members, the manifest counts ${read.manifest.counts.entries} entries`
        : `${read.entries.length} entries${encrypted ? ', each with the HKDF data key and its own nonce; every tag matches' : ''}`,
  });
  for (const db of read.databases.filter((d) => d.format === 'custom')) {
    checks.push({ id: `toc:${db.name}`, kind: 'integrity', name: `pg_dump archive of ${db.name}`, ok: db.entry?.toc != null && db.problem === null, detail: db.entry?.toc ? pgFacts(db.entry.toc) : (db.problem ?? 'not read') });
  }
  if (read.fileHashes.checked > 0) {
    const bad = read.fileHashes.mismatched;
    checks.push({ id: 'v2-file-hashes', kind: 'integrity', name: 'Directory files against the index\'s SHA-256', ok: bad.length === 0, detail: bad.length === 0 ? `${read.fileHashes.checked} file(s) match` : `${bad.length} of ${read.fileHashes.checked} differ: ${bad.slice(0, 5).join(', ')}` });
  }
  return checks;
}
