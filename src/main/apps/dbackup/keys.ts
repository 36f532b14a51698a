/**
 * Encryption Profile master keys: 32 random bytes that DBackup handles as 64 hex digits (spec
 * §1). Lifeboat keeps one per profile in the keyed slot `encryption-key:<profileId>`, the id
 * coming from the backup's sidecar.
 */
import { LifeboatError } from '../../../shared/errors';
import type { KeyRef } from '../../formats/gcm';
import type { KeyResolver } from '../module';

/** The keyed secret slot's prefix. */
export const KEY_SLOT = 'encryption-key';

/** The slot of one profile's key; characters a slot may not hold become `_`. */
export function keySlot(profileId: string | null): string {
  const id = (profileId ?? 'unknown-profile').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 96) || 'unknown-profile';
  return `${KEY_SLOT}:${id}`;
}

/** A master key as DBackup accepts one on import: 64 hex digits, trimmed. */
export function parseMasterKey(text: string): Buffer | null {
  const trimmed = text.trim();
  return /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : null;
}

/** The master key of a profile from the resolver: KEY_REQUIRED when none is known or the one known is not 64 hex digits. */
export async function masterKeyFor(keys: KeyResolver, profileId: string | null, fileName: string): Promise<{ key: Buffer; ref: KeyRef }> {
  const ref: KeyRef = { slot: keySlot(profileId), label: `master key of DBackup encryption profile ${profileId ?? '(unnamed)'}` };
  const text = await keys.get(ref.slot, {
    label: ref.label,
    why: `${fileName} is encrypted with it (AES-256-GCM); copy it from DBackup's Vault page or the master.key of a Recovery Kit`,
  });
  const key = parseMasterKey(text);
  if (!key) {
    throw new LifeboatError('KEY_REQUIRED', `The ${ref.label} Lifeboat was given is not 64 hex digits; a DBackup master key is 32 bytes written as 64 hex digits.`, {
      details: { reason: 'wrong-key', slot: ref.slot, label: ref.label },
    });
  }
  return { key, ref };
}
