/**
 * The installation's Fernet key: BACKUP_ENCRYPTION_KEY from the keychain, stretched by backup.py's
 * PBKDF2 (100 000 rounds, so derived once and kept in the installation's session, never in a
 * module global), and whether it has verified a backup of this installation yet (which turns a
 * later HMAC failure from "probably the wrong key" into "altered").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdapterContext } from '../adapter';
import type { FormatContext, ModuleSession } from '../module';
import { deriveFernetKey, wipeFernetKey, type FernetKey } from '../../formats/fernet';

/** The secret slot of BACKUP_ENCRYPTION_KEY. */
export const KEY_SLOT = 'backup-encryption-key';

/** backup.py `derive_fernet_key`: the passphrase as a UTF-8 string, this salt, this many rounds. */
export const LOOMIO_KDF = { salt: 'loomio-backup-salt', iterations: 100_000 } as const;

const DESCRIBE = { label: 'BACKUP_ENCRYPTION_KEY', why: "the stack encrypts every backup with the BACKUP_ENCRYPTION_KEY of its .env (a 64-character hex string, used as it is)" };

/** Where the right key lives, for the wrong-key message. */
export const KEY_HINT = 'each Loomio stack encrypts with the BACKUP_ENCRYPTION_KEY of its own .env';

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

/** A format part's key (no session there: derived for this job); KEY_REQUIRED when none is known. */
export async function formatKey(ctx: FormatContext): Promise<LoomioKey> {
  const passphrase = await ctx.keys.get(KEY_SLOT, DESCRIBE);
  return { key: await deriveFernetKey(passphrase, LOOMIO_KDF), verifiedBefore: false, markVerified: () => undefined };
}

/** A dump's first AES block: pg_dump's plain scripts start `--\n-- PostgreSQL`; any script starts with printable text. */
export function looksLikeDumpStart(block: Buffer): boolean {
  return block.subarray(0, 2).toString('latin1') === '--' && block.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
}
