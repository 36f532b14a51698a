/**
 * The Nojoin module (specs/nojoin.md): ZIP archives of 20 table files, audio and documents with
 * backup_info.json, made on demand by Nojoin's export job over HTTPS (or found over SSH in
 * `<compose dir>/data/backups`), verified member by member as they stream, previewed with
 * recordings, secrets and warnings, and restored through Nojoin's chunked import with its
 * conflict modes (restore.ts).
 *
 * Installation: HTTPS to the Nojoin server (its self-signed certificate pinned), the user name of
 * a superuser, the password as the `https-password` secret. Settings (settings.ts): includeAudio,
 * archiveQuality, composeDir (SSH), uploadChunkMiB, cadenceHours.
 */
import type { AdapterCapabilities } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import { LifeboatError } from '../../../shared/errors';
import type { AppModule, ArchiveProbe, Detection } from '../module';
import { audioContentType, fileByteSource, NOJOIN_TABLES, NojoinZip, openAudioMember, previewNojoinArchive, reopeningByteSource, BACKUP_INFO_MEMBER } from './format';
import { normalizeFingerprint } from '../../transport/https';
import { fetchFingerprint, serverHealth } from './api';
import { NOJOIN_RESTORE_OPTIONS, nojoinRestore } from './restore';
import { nojoinSessionFor } from './session';
import { suggestNojoinInstallation } from './suggest';
import { NOJOIN_SETTINGS, nojoinSettings } from './settings';
import { structuralDrill } from '../module-kit/structural-drill';
import { listExportFiles, makeExport, openRemote, pullNewest } from './sources';

const LOCAL_HEADER = 0x04034b50;
const NOJOIN_MEMBERS = new Set([...NOJOIN_TABLES.map((t) => `${t}.json`), BACKUP_INFO_MEMBER]);

/** Names of the ZIP members whose local headers lie in `head`, as far as their sizes can be read. */
function leadingMemberNames(head: Buffer): string[] {
  const names: string[] = [];
  let offset = 0;
  while (offset + 30 <= head.length && head.readUInt32LE(offset) === LOCAL_HEADER) {
    const flags = head.readUInt16LE(offset + 6);
    const compressed = head.readUInt32LE(offset + 18);
    const nameLength = head.readUInt16LE(offset + 26);
    const extraLength = head.readUInt16LE(offset + 28);
    if (offset + 30 + nameLength > head.length) break;
    names.push(head.subarray(offset + 30, offset + 30 + nameLength).toString('utf8'));
    // Sizes after the data (a streamed ZIP) or in Zip64 extras: the next header cannot be found.
    if ((flags & 0x08) !== 0 || compressed === 0xffffffff) break;
    offset += 30 + nameLength + extraLength + compressed;
  }
  return names;
}

/** A ZIP whose first members are Nojoin's table files (it writes them first, backup_info.json last). */
function detect(probe: ArchiveProbe): Detection | null {
  const names = leadingMemberNames(probe.head);
  if (names.length === 0) return null;
  const known = names.filter((n) => NOJOIN_MEMBERS.has(n));
  if (known.length === 0 || !NOJOIN_MEMBERS.has(names[0]!)) return null;
  const named = /^nojoin_backup_\d{8}_\d{6}\.zip$/.test(probe.fileName);
  return { confidence: named ? 0.95 : 0.85, reason: `a ZIP that starts with Nojoin's table files (${known.slice(0, 3).join(', ')}${known.length > 3 ? '…' : ''})` };
}

function capabilities(installation: Installation): AdapterCapabilities {
  const https = installation.https !== undefined;
  const ssh = installation.ssh !== undefined;
  const notes: string[] = [];
  if (!https) notes.push('Without an HTTPS connection Lifeboat can neither ask Nojoin for an export nor restore: it pulls the finished exports it finds over SSH.');
  if (https && !ssh) notes.push('Nojoin keeps no list of past exports: "Pull newest" asks it for a fresh one.');
  return { list: ssh, trigger: https, pull: https || ssh, preview: true, restore: https, restoreOptions: NOJOIN_RESTORE_OPTIONS, notes };
}

/** The Nojoin module. */
export const nojoinModule: AppModule = {
  kind: 'nojoin',
  label: 'Nojoin',
  summary: 'ZIP exports of a Nojoin meeting-notes server (tables, audio, documents), made on demand over its API and verified member by member; restored through its import with Skip, Overwrite or Clear all.',
  transports: ['https', 'ssh'],
  settings: NOJOIN_SETTINGS,
  secretSlots: [],
  healthPath: '/api/health',
  detect,
  capabilities,

  async checkAccess(ctx) {
    const session = await nojoinSessionFor(ctx);
    const call = { signal: ctx.signal, unattended: true };
    await session.requireSuperuser(call);
    const { version } = await serverHealth(session, call);
    // The server's word on its certificate only confirms the pin the operator trusted; it never sets it.
    const pinned = ctx.installation.https?.pinnedCertSha256;
    const reported = await fetchFingerprint(session, call).catch(() => null);
    const pin = !pinned || !reported ? '' : normalizeFingerprint(pinned) === reported ? '; the certificate matches the one Nojoin reports' : `; NOTE: Nojoin reports certificate ${reported}, not the pinned one: a TLS proxy terminates in front of it`;
    return `signed in as a superuser; Nojoin ${version ?? '(version not given)'}${pin}`;
  },

  sources: {
    list: listExportFiles,
    async trigger(ctx) {
      const { taskId, warnings } = await makeExport(ctx);
      const lost = warnings ? warnings.recordings_audio_failed + warnings.documents_failed : 0;
      return { message: `Nojoin made export ${taskId}${lost ? ` (${lost} audio or document files failed to export)` : ''}`, remoteId: `export:${taskId}` };
    },
    open: openRemote,
    pullNewest,
    async cadenceHours(ctx) {
      return nojoinSettings(ctx.installation).cadenceHours ?? 24;
    },
  },

  format: {
    async preview(archive, ctx) {
      const location = archive.localPath ? { localPath: archive.localPath } : { stagingDir: ctx.stagingDir };
      const { report, nojoin } = await previewNojoinArchive(archive, ctx, location);
      const media = nojoin.recordings
        .filter((r) => r.hasAudio && r.audioMember)
        .map((r) => ({ id: r.audioMember!, label: r.title, contentType: audioContentType(r.audioMember!), format: r.audioFormat, bytes: r.audioBytes }));
      return { ...report, media };
    },
    suggestInstallation: suggestNojoinInstallation,
    async openMedia(archive, mediaId, range) {
      const source = archive.localPath ? await fileByteSource(archive.localPath) : reopeningByteSource(archive);
      // The archive owns the source from here: it closes it itself when it refuses the ZIP.
      const zip = await NojoinZip.open(source, { label: archive.fileName });
      try {
        const audio = await openAudioMember(zip, mediaId, range);
        audio.stream.once('close', () => void zip.close());
        return audio;
      } catch (error) {
        await zip.close();
        if (error instanceof LifeboatError) throw error;
        throw new LifeboatError('ARCHIVE_INVALID', `Cannot read "${mediaId.slice(0, 120)}" from ${archive.fileName}: ${(error as Error).message}`, { cause: error });
      }
    },
  },

  restore: nojoinRestore,
  drill: structuralDrill(
    { preview: (archive, ctx) => nojoinModule.format.preview(archive, ctx) },
    ['every ZIP member inflated and its CRC-32 checked', 'every JSON member parsed', 'every table row validated against its format version\'s rules', 'every audio and document path matched with a member', 'backup_info.json read'],
    (row) => (typeof row.item === 'string' && typeof row.rows === 'number' ? { table: row.item, rows: row.rows } : null),
  ),
};
