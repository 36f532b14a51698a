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
  const find = async (slot: string): Promise<string | null> => (installation ? await stored(slot) : null) ?? typed.get(slot);
  return {
    find,
    async get(slot, describe) {
      const key = await find(slot);
      if (key !== null) return key;
      const where = installation ? `No ${describe.label} is stored for "${installation.name}"` : `This file needs the ${describe.label}`;
      throw new LifeboatError('KEY_REQUIRED', `${where}: ${describe.why}. Enter it to go on; it is kept in memory for this session only.`, {
        details: { slot, label: describe.label, installationId: installation?.id ?? null },
      });
    },
  };
}
