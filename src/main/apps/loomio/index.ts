/**
 * The Loomio Pi stack module (etiennechabert/loomio-pi-stack; spec loomio.md): hourly, daily,
 * weekly and manual backups that are each one Fernet token of a plain `pg_dump -F p` script,
 * found over SSH in the stack's backup folders (both name generations), verified with the
 * installation's BACKUP_ENCRYPTION_KEY as they stream, previewed by decrypting while verifying,
 * and restored over SSH into the stack's PostgreSQL (restore.ts says how and why).
 *
 * Installation settings (schema, form fields and defaults in settings.ts):
 *
 * | key              | default                                    | meaning |
 * |------------------|--------------------------------------------|---------|
 * | `stackDir`       | `/home/pi/loomio-pi-stack`                 | the checkout; backups in `data/production/backups` (legacy `backups/`, `data/db_backup/`) |
 * | `composeProject` | empty                                      | `docker compose -p` name |
 * | `dbContainer`    | `loomio-db`                                | the db service's container |
 * | `backupContainer`| `loomio-backup`                            | the backup service's container |
 * | `services`       | `app worker channels hocuspocus`           | stopped during a restore |
 * | `databaseName`/`databaseUser` | `loomio_production` / `loomio` | POSTGRES_DB / POSTGRES_USER; password: the `database-password` secret |
 * | `databaseHost`/`databasePort` | `127.0.0.1` / `5432`          | PostgreSQL seen from the SSH server (live row counts) |
 * | `stopCommand`    | `docker compose {projectArgs} stop {services}` | |
 * | `startCommand`   | `docker compose {projectArgs} start {services}` | |
 * | `psqlCommand`    | `docker exec -i {dbContainer} psql -U {user} {args}` | SQL on stdin |
 * | `backupCommand`  | `docker exec {backupContainer} python3 /app/backup.py --type manual --reason {reason}` | "Run backup now" and the safety pull |
 * | `cadenceHours`   | empty: 1                                   | hours between backups |
 *
 * Remote ids: `<file>@<Fernet time>` (`@m<mtime>` for an unencrypted file), the file name alone in
 * data/production/backups, `backups/<file>` and `data/db_backup/<file>` in the legacy folders; the
 * write is part of the id because the stack overwrites same-day daily and weekly files.
 *
 * Secrets: `backup-encryption-key` (BACKUP_ENCRYPTION_KEY, used as the string it is) and
 * `database-password`. Plaintext restore leftovers (`restore_*.sql`) are never listed; their
 * presence is a security finding in every listed backup's details and in the connection test.
 */
import type { AdapterCapabilities } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';
import type { AppModule, ArchiveProbe, Detection } from '../module';
import { fernetKeyId, looksLikeFernetText } from '../../formats/fernet';
import { scanLoomioArchive } from './archive-scan';
import { KEY_SLOT, formatKey, type LoomioKey } from './key';
import { LOOMIO_DECRYPT_BY_HAND } from './decrypt-by-hand';
import { parseLoomioBackupName } from './names';
import { buildLoomioPreview } from './preview';
import { loomioDrill } from './drill';
import { LOOMIO_RESTORE_OPTIONS, dbAddress, loomioRestore } from './restore';
import { LOOMIO_SETTINGS, loomioSettings } from './settings';
import { leftoverFinding, listBackups, openBackup, readFolders, triggerBackup } from './sources';

const PG_DUMP_HEAD = '--\n-- PostgreSQL database dump';

/** Content first: a Fernet token (or a plain pg_dump script); the stack's file names only make the claim stronger. */
function detect(probe: ArchiveProbe): Detection | null {
  const named = parseLoomioBackupName(probe.fileName) !== null;
  if (looksLikeFernetText(probe.head)) {
    return named ? { confidence: 0.95, reason: 'a Fernet token named as the Loomio Pi stack names its backups' } : { confidence: 0.6, reason: 'a Fernet token (base64url starting gAAAAA), as the Loomio Pi stack writes its backups' };
  }
  if (probe.head.subarray(0, PG_DUMP_HEAD.length).toString('latin1') === PG_DUMP_HEAD) {
    return named ? { confidence: 0.85, reason: 'an unencrypted plain pg_dump script named as the Loomio Pi stack names its backups' } : { confidence: 0.25, reason: 'a plain pg_dump script (the Loomio Pi stack writes these when it has no encryption key)' };
  }
  return null;
}

function capabilities(installation: Installation): AdapterCapabilities {
  const ssh = installation.ssh !== undefined;
  const trigger = ssh && String(installation.settings?.backupCommand ?? 'default').trim() !== '';
  return {
    list: ssh,
    trigger,
    pull: ssh,
    preview: true,
    restore: ssh,
    restoreOptions: LOOMIO_RESTORE_OPTIONS,
    notes: ssh ? (trigger ? [] : ['No backupCommand: Lifeboat cannot ask the stack for a backup (nor make the safety backup before a restore).']) : ['The Loomio Pi stack is reached over SSH only: add an SSH connection to the Pi.'],
  };
}

/** The Loomio Pi stack module. */
export const loomioModule: AppModule = {
  kind: 'loomio',
  label: 'Loomio Pi stack',
  summary: 'Encrypted plain pg_dump backups (Fernet) of a Loomio Pi stack, pulled over SSH and checked with its BACKUP_ENCRYPTION_KEY; restored over SSH with psql in one transaction.',
  transports: ['ssh'],
  settings: LOOMIO_SETTINGS,
  secretSlots: [
    { slot: KEY_SLOT, label: 'BACKUP_ENCRYPTION_KEY', help: 'From the stack\'s .env: the 64-character string every backup is encrypted with (PBKDF2 of it, as backup.py does). Needed to verify, preview and restore.', keyed: false, archiveKey: true },
    { slot: 'database-password', label: 'Database password', help: 'POSTGRES_PASSWORD of the stack\'s .env, if PostgreSQL asks for one (for live row counts).', keyed: false },
  ],
  detect,
  capabilities,

  async checkAccess(ctx) {
    const folders = await readFolders(await ctx.ssh(), loomioSettings(ctx.installation));
    const finding = leftoverFinding(folders);
    return `${folders.backups.length} backup(s) in the stack's backup folders${finding ? `; SECURITY FINDING: ${finding}` : ''}`;
  },

  sources: {
    list: listBackups,
    trigger: triggerBackup,
    open: openBackup,
    async cadenceHours(ctx) {
      return loomioSettings(ctx.installation).cadenceHours ?? 1;
    },
  },

  format: {
    async preview(archive, ctx) {
      let key: LoomioKey | null = null;
      const scan = await scanLoomioArchive(archive, ctx, { readDump: true, key: async (head) => (key = await formatKey(ctx, head)) });
      return buildLoomioPreview(archive, scan, key ? fernetKeyId((key as LoomioKey).key) : null, new Date());
    },
  },

  restore: loomioRestore,
  decryptByHand: LOOMIO_DECRYPT_BY_HAND,
  drill: { ...loomioDrill, serverDatabase: (ctx) => dbAddress(ctx, loomioSettings(ctx.installation)) },
};
