/**
 * The installation's Fernet key: BACKUP_ENCRYPTION_KEY from the keychain, stretched by backup.py's
 * PBKDF2 (100 000 rounds, so derived once and kept in the installation's session, never in a
 * module global), and whether it has verified a backup of this installation yet (which turns a
 * later HMAC failure from "probably the wrong key" into "altered").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdapterContext } from '../adapter';
import type { ArchiveOrigin, FormatContext, KeyResolver, ModuleSession } from '../module';
import { deriveFernetKey, fernetFirstBlock, wipeFernetKey, type FernetKey } from '../../formats/fernet';

/** The secret slot of BACKUP_ENCRYPTION_KEY. */
export const KEY_SLOT = 'backup-encryption-key';

/** backup.py `derive_fernet_key`: the passphrase as a UTF-8 string, this salt, this many rounds. */
export const LOOMIO_KDF = { salt: 'loomio-backup-salt', iterations: 100_000 } as const;

const DESCRIBE = { label: 'BACKUP_ENCRYPTION_KEY', why: "the stack encrypts every backup with the BACKUP_ENCRYPTION_KEY of its .env (a 64-character hex string, used as it is)" };

/** Where the right key lives, for the wrong-key message. */
export const KEY_HINT = 'each Loomio stack encrypts with the BACKUP_ENCRYPTION_KEY of its own .env';

/** The same, for an archive read here (vault, file): where another stack's key is given. */
export const ARCHIVE_KEY_HINT = `${KEY_HINT}; a file from another stack opens with that stack's key, given at the key prompt or with --key-stdin`;

/** A key ready to use, and what is known about it in this installation. */
export interface LoomioKey {
  key: FernetKey;
  /** The key has verified another backup of this installation. */
  verifiedBefore: boolean;
  /** Call once a backup verified with it. */
  markVerified(): void;
}

/** The derived key of one installation, kept between its jobs; wiped when the session ends. */
class KeySession implements ModuleSession {
  private entry: { fingerprint: Buffer; key: Promise<FernetKey>; verified: boolean } | null = null;

  async use(passphrase: string): Promise<LoomioKey> {
    const fingerprint = createHash('sha256').update(passphrase, 'utf8').digest();
    if (!this.entry || !timingSafeEqual(this.entry.fingerprint, fingerprint)) {
      // A changed key (edited secret) starts over; the old one is not wiped, a running job may hold it.
      this.entry = { fingerprint, key: deriveFernetKey(passphrase, LOOMIO_KDF), verified: false };
    }
    const entry = this.entry;
    const key = await entry.key.catch((error: unknown) => {
      if (this.entry === entry) this.entry = null;
      throw error;
    });
    return { key, verifiedBefore: entry.verified, markVerified: () => void (entry.verified = true) };
  }

  dispose(): void {
    const old = this.entry;
    this.entry = null;
    void old?.key.then(wipeFernetKey, () => undefined);
  }
}

/** The installation's key (KEY_REQUIRED when none is stored), derived once per session. */
export async function installationKey(ctx: AdapterContext): Promise<LoomioKey> {
  const passphrase = await ctx.keys.get(KEY_SLOT, DESCRIBE);
  return ctx.sessions.get('fernet-key', () => new KeySession()).use(passphrase);
}

/**
 * The key the installation's own stack encrypts with: its stored BACKUP_ENCRYPTION_KEY only, never
 * a key typed this session (that one may be another stack's, given for a file); null when none is stored.
 */
export async function storedInstallationKey(ctx: AdapterContext): Promise<LoomioKey | null> {
  const passphrase = await ctx.secret(KEY_SLOT);
  return passphrase === null ? null : ctx.sessions.get('fernet-key', () => new KeySession()).use(passphrase);
}

/** A format part's key for the token starting with `head` (no session there: derived for this job); KEY_REQUIRED when none is known. */
export async function formatKey(ctx: FormatContext, head: Buffer): Promise<LoomioKey> {
  return jobKey(await keyFor(ctx.keys, head));
}

/**
 * The key that opens an archive being restored: the target's own (kept in its session) for the
 * target's own snapshots, else one of the keys of where the archive came from (another
 * installation's, or typed for a file): never the target's for another installation's snapshot.
 */
export async function archiveKey(ctx: AdapterContext, origin: ArchiveOrigin | undefined, head: Buffer): Promise<LoomioKey> {
  if (!origin || origin.kind === 'own') return installationKey(ctx);
  return jobKey(await keyFor(origin.keys, head));
}

/** Who holds the key that decrypts an archive being restored, in words; `targets`: it is the target's own key. */
export function archiveKeyOwner(ctx: AdapterContext, origin: ArchiveOrigin | undefined, targets: boolean): string {
  if (!origin || origin.kind === 'own') return `"${ctx.installation.name}"'s BACKUP_ENCRYPTION_KEY (the snapshot is its own)`;
  if (origin.kind === 'installation') return `"${origin.installation!.name}"'s BACKUP_ENCRYPTION_KEY (the installation ${origin.label} was pulled from)`;
  if (origin.kind === 'file' && targets) return `"${ctx.installation.name}"'s own BACKUP_ENCRYPTION_KEY (${origin.label} is one of its backups)`;
  return `the BACKUP_ENCRYPTION_KEY given this session for ${origin.label}${origin.kind === 'orphan' ? ' (its installation is no longer configured)' : ''}`;
}

function jobKey(key: FernetKey): LoomioKey {
  return { key, verifiedBefore: false, markVerified: () => undefined };
}

/**
 * Derives the key of the token that starts with `head` from the passphrases `keys` knows: when it
 * knows several (the stored one and another typed this session), the first whose first AES block
 * decrypts to the start of a dump; when none does, the first (its HMAC failure then says why).
 */
export async function keyFor(keys: KeyResolver, head: Buffer): Promise<FernetKey> {
  const known = keys.all ? await keys.all(KEY_SLOT) : [];
  if (known.length <= 1) return deriveFernetKey(known[0] ?? (await keys.get(KEY_SLOT, DESCRIBE)), LOOMIO_KDF);
  const derived: FernetKey[] = [];
  for (const passphrase of known) {
    const key = await deriveFernetKey(passphrase, LOOMIO_KDF);
    const block = fernetFirstBlock(head, key);
    if (block && looksLikeDumpStart(block)) {
      for (const other of derived) wipeFernetKey(other);
      return key;
    }
    derived.push(key);
  }
  for (const other of derived.slice(1)) wipeFernetKey(other);
  return derived[0]!;
}

/** A dump's first AES block: pg_dump's plain scripts start `--\n-- PostgreSQL`; any script starts with printable text. */
export function looksLikeDumpStart(block: Buffer): boolean {
  return block.subarray(0, 2).toString('latin1') === '--' && block.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
}
