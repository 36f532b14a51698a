/**
 * The DBackup module (spec dbackup.md): database and config backups that DBackup writes to a
 * storage destination, each a file plus `<file>.meta.json` (and `<file>.index` for v2 archives).
 * Over SSH, Lifeboat reads the destination folder directly (SFTP): lists, pulls (SHA-256 and MD5
 * against the sidecar before the snapshot exists, no key needed) and previews (with the
 * Encryption Profile's master key: AES-256-GCM, then gzip/brotli, then the Postgres TOC, the
 * multi-DB TAR or the config backup's sections). Keys live in the keyed slot
 * `encryption-key:<profileId>`, the id coming from the sidecar.
 *
 * Over HTTPS (DBackup's API at `<site>/api`, Bearer `dbackup_…` key, kept within DBackup's rate
 * limits): list, pull (raw, ZIP-wrapped for encrypted files), Run now (`jobId`) and restore
 * (`POST /storage/{id}/restore` into `targetSourceId`, the file first verified and, when missing,
 * put on the destination over SFTP). With both connections, SFTP lists and pulls.
 *
 * Settings: `destinationDir` (SSH: the destination's root on the server), `storageIds`, `jobId`,
 * `targetSourceId`, `targetDatabaseName` (HTTPS), `cadenceHours`; for restore drills on the server
 * (drill settings `onServer`), `drillDatabaseHost` / `Port` / `Name` / `User` (the PostgreSQL DBackup
 * backs up, seen from the SSH server) with the password in the secret slot `drill-database-password`.
 */
import type { AdapterCapabilities } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext } from '../adapter';
import type { TunnelDbAddress } from '../../transport/postgres/tunnel-db';
import type { AppModule, ArchiveProbe, Detection } from '../module';
import { dbackupApi } from './api';
import { listOverApi, listsOverApi, openOverApi, runJobNow, storageFiles, storageIdsOf } from './https-source';
import { DBACKUP_RESTORE_OPTIONS, dbackupRestore } from './restore';
import { judgeHead } from '../../formats/gcm';
import { KEY_SLOT, keySlot } from './keys';
import { previewDbackup } from './preview';
import { DBACKUP_SETTINGS, DRILL_PASSWORD_SLOT, dbackupSettings } from './settings';
import { listDestination, openDestinationFile } from './sftp-source';
import { findSidecar } from './sidecar';
import { readRecoveryKit } from './recovery-kit';
import { DBACKUP_DECRYPT_BY_HAND } from './decrypt-by-hand';
import { dbackupDrill } from './drill';

/** DBackup's default file name: `<job>_yyyy-MM-dd_HH-mm-ss.<ext>[.gz|.br][.enc]`, or a config backup's. */
const DBACKUP_NAME = /(_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.(sql|tar|archive|bak|rdb|db|fbk)(\.gz|\.br)?(\.enc)?$)|(^config_backup_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.json\.gz(\.enc)?$)/;

/** A DBackup sidecar that parses is near proof; a name in DBackup's pattern or an `.enc` file alone is a weak hint. */
function detect(probe: ArchiveProbe): Detection | null {
  const lookup = findSidecar(probe.fileName, probe.sidecars);
  if (lookup.sidecar) return { confidence: 0.95, reason: `a file with its DBackup sidecar (${lookup.sidecar.kind === 'config' ? 'config backup' : `${lookup.sidecar.sourceType} backup`})` };
  if (lookup.file) return { confidence: 0.4, reason: `a file with a .meta.json that is not a valid DBackup sidecar (${lookup.problem?.message ?? ''})` };
  if (DBACKUP_NAME.test(probe.fileName)) return { confidence: 0.5, reason: 'named as DBackup names its backups (no sidecar came with it)' };
  // DBackup names Postgres custom dumps `.sql`; a bare PGDMP is otherwise Weavestream's weak claim.
  if (probe.fileName.endsWith('.sql') && probe.head.subarray(0, 5).toString('latin1') === 'PGDMP') return { confidence: 0.35, reason: 'a pg_dump custom archive named .sql, as DBackup names them' };
  // DBackup's ciphertext has no header: random bytes. Other apps' .enc files (Fernet tokens, "Salted__") do not look so.
  if (probe.fileName.endsWith('.enc') && probe.head.length >= 64 && !judgeHead(probe.head, 'none').plausible) return { confidence: 0.25, reason: 'an .enc file of headerless ciphertext, as DBackup writes (but no sidecar came with it)' };
  return null;
}

/** `<file>.meta.json` belongs to `<file>`; so does `<file>.index` of a v2 archive (`.tar`). */
function sidecarOf(fileName: string): string | null {
  if (fileName.endsWith('.meta.json') && fileName.length > '.meta.json'.length) return fileName.slice(0, -'.meta.json'.length);
  if (fileName.endsWith('.tar.index')) return fileName.slice(0, -'.index'.length);
  return null;
}

function capabilities(installation: Installation): AdapterCapabilities {
  const settings = dbackupSettings(installation);
  const sftp = installation.ssh !== undefined && settings.destinationDir !== '';
  const api = installation.https !== undefined;
  const trigger = api && settings.jobId !== '';
  const restore = api && settings.targetSourceId !== '' && settings.storageIds.length > 0;
  const notes: string[] = [];
  if (!sftp && !api) notes.push('Add an SSH connection to the server that holds a DBackup storage destination (and set its folder), or an HTTPS connection to DBackup with an API key.');
  if (sftp && api) notes.push('Backups are listed and pulled over SFTP from the destination folder; DBackup\'s API runs jobs and restores.');
  if (api && !trigger) notes.push('Run backup now needs jobId: the DBackup job to run.');
  if (!restore) notes.push('A restore goes through DBackup\'s API: it needs HTTPS, storageIds (the destination the backup lies on) and targetSourceId (the source to restore into).');
  notes.push('Config backups are restored only in DBackup\'s web UI: it has no API for them.');
  return { list: sftp || api, trigger, pull: sftp || api, preview: true, restore, restoreOptions: DBACKUP_RESTORE_OPTIONS, notes };
}

/**
 * The PostgreSQL an on-server drill creates its scratch database on: DBackup backs up other
 * servers, so the operator names it (DRILL_UNAVAILABLE until drillDatabaseHost is set).
 */
async function drillDatabase(ctx: AdapterContext): Promise<TunnelDbAddress> {
  const settings = dbackupSettings(ctx.installation);
  if (!settings.drillDatabaseHost) {
    throw new LifeboatError('DRILL_UNAVAILABLE', `"${ctx.installation.name}" is set to drill on its own server, but its setting drillDatabaseHost (the PostgreSQL DBackup backs up, seen from the SSH server) is empty.`, { details: { setting: 'drillDatabaseHost' } });
  }
  return {
    host: settings.drillDatabaseHost, port: settings.drillDatabasePort, database: settings.drillDatabaseName, user: settings.drillDatabaseUser,
    password: await ctx.secret(DRILL_PASSWORD_SLOT),
    passwordFrom: { installation: ctx.installation.name, slot: DRILL_PASSWORD_SLOT },
    role: 'drill database',
  };
}

/** The DBackup module. */
export const dbackupModule: AppModule = {
  kind: 'dbackup',
  label: 'DBackup',
  summary: 'Database and config backups from a DBackup storage destination, pulled over SFTP or DBackup\'s API with their .meta.json sidecars, checked by SHA-256 and MD5, previewed with the encryption profile\'s key, restored through DBackup.',
  transports: ['ssh', 'https'],
  settings: DBACKUP_SETTINGS,
  secretSlots: [{
    slot: KEY_SLOT,
    label: 'Encryption Profile master key',
    help: 'One per DBackup encryption profile (64 hex digits, as in a Recovery Kit\'s master.key); the profile id comes from each backup\'s .meta.json.',
    keyed: true,
    archiveKey: true,
  }, {
    slot: DRILL_PASSWORD_SLOT,
    label: 'Drill database password',
    help: 'Password of the drill database user (drillDatabaseUser), if PostgreSQL asks for one; used only by restore drills on the server.',
    keyed: false,
  }],
  sidecarOf,
  // The base URL is DBackup's site root; its API lives under /api.
  healthPath: '/api/health',
  detect,
  capabilities,

  async checkAccess(ctx) {
    if (!ctx.installation.https) return null;
    const api = await dbackupApi(ctx);
    const storages = await storageIdsOf(ctx, api);
    const first = storages[0];
    if (!first) return 'the API key sees no storage destination';
    return `the API key lists ${(await storageFiles(api, first)).length} backup(s) on storage ${first}`;
  },

  sources: {
    list: (ctx) => (listsOverApi(ctx.installation) ? listOverApi(ctx) : listDestination(ctx)),
    open: (ctx, remoteId) => (listsOverApi(ctx.installation) ? openOverApi(ctx, remoteId) : openDestinationFile(ctx, remoteId)),
    trigger: runJobNow,
    async cadenceHours(ctx) {
      return dbackupSettings(ctx.installation).cadenceHours;
    },
  },

  format: {
    preview: previewDbackup,
  },

  restore: dbackupRestore,

  decryptByHand: DBACKUP_DECRYPT_BY_HAND,

  drill: { ...dbackupDrill, serverDatabase: drillDatabase },

  keyFile: {
    label: 'DBackup Recovery Kit',
    async read(file, fileName) {
      const keys = await readRecoveryKit(file, { fileName });
      return keys.map((k) => ({
        slot: k.profileId === null ? null : keySlot(k.profileId),
        label: `master key of DBackup encryption profile ${k.name ?? k.profileId ?? '(unnamed)'}${k.name && k.profileId ? ` (${k.profileId})` : ''}`,
        value: k.key,
      }));
    },
  },
};
