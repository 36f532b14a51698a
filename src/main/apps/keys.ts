/**
 * Keys for encrypted archives. An installation's keys live in the keychain under its secret slots
 * (`encryption-key:<profile>`); a key for a dropped file that belongs to no installation is typed by
 * the operator and kept in memory for this session only, never written anywhere.
 */
import { LifeboatError } from '../../shared/errors';
import type { Installation } from '../../shared/installations';
import type { KeyResolver } from './module';

/** Keys the operator typed this session, by slot; memory only. */
export class SessionKeys {
  private readonly keys = new Map<string, string>();

  provide(slot: string, value: string): void {
    this.keys.set(slot, value);
  }

  get(slot: string): string | null {
    return this.keys.get(slot) ?? null;
  }

  forget(): void {
    this.keys.clear();
  }
}

/** Where keys come from: the installation's stored secret first, then what was typed this session. */
export function createKeyResolver(installation: Installation | null, stored: (slot: string) => Promise<string | null>, typed: SessionKeys): KeyResolver {
  return createArchiveKeyResolver(installation ? stored : null, typed, {
    message: (describe) => `${installation ? `No ${describe.label} is stored for "${installation.name}"` : `This file needs the ${describe.label}`}: ${describe.why}. Enter it to go on; it is kept in memory for this session only.`,
    details: { installationId: installation?.id ?? null },
  });
}

/** What KEY_REQUIRED says when a resolver knows no key for a slot. */
export interface MissingArchiveKey {
  /** Whose key is missing and how to give it. */
  message(describe: { label: string; why: string }): string;
  /** Added to the error's details (beside slot and label). */
  details: Record<string, string | null>;
}

/**
 * Keys of an archive, which may not be the target's when it is restored: the stored keys of the
 * installation it came from (`stored`: for a file, the target's, as the file may be one of its own
 * backups), then keys typed this session. KEY_REQUIRED names the archive and where its key is missing.
 */
export function createArchiveKeyResolver(stored: ((slot: string) => Promise<string | null>) | null, typed: SessionKeys, missing: MissingArchiveKey): KeyResolver {
  const find = async (slot: string): Promise<string | null> => (stored ? await stored(slot) : null) ?? typed.get(slot);
  return {
    find,
    all: async (slot) => [...new Set([stored ? await stored(slot) : null, typed.get(slot)].filter((k): k is string => k !== null))],
    async get(slot, describe) {
      const key = await find(slot);
      if (key !== null) return key;
      throw new LifeboatError('KEY_REQUIRED', missing.message(describe), { details: { slot, label: describe.label, ...missing.details } });
    },
  };
}
