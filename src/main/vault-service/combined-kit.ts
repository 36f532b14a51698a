/**
 * The combined recovery kit: the vault's recovery kit plus every key Lifeboat holds that opens an
 * app's archives (Loomio's BACKUP_ENCRYPTION_KEY, DBackup's profile master keys), each named by
 * installation and profile, and a README saying how to open each app's archives by hand.
 *
 * Format: an age file (https://age-encryption.org/v1) with a scrypt (passphrase) recipient,
 * ASCII-armored so it survives e-mail and paper. Why age rather than an OpenPGP symmetric file:
 * one small documented format with a single way to do it (no cipher, compression or S2K choices
 * to get wrong, authenticated in 64 KiB chunks), a reference TypeScript implementation by its
 * author (npm age-encryption, Filippo Valsorda) and interoperable tools everywhere: `age -d`
 * (Debian, Homebrew, winget), rage, and the age web tools. The operator opens it with
 * `age -d -o kit.txt lifeboat-recovery-kit-….txt.age` and the passphrase.
 *
 * Inside: plain text for a person (the vault kit, the keys, the README), then one JSON block
 * between marker lines that `lifeboat vault import-kit` reads back.
 */
import os from 'node:os';
import { Decrypter, Encrypter, armor } from 'age-encryption';
import { z } from 'zod';
import { LifeboatError } from '../../shared/errors';
import { installationInputSchema, type Installation } from '../../shared/installations';
import type { KitContents, KitImportReport } from '../../shared/vault';
import type { Core } from '../core';

/**
 * scrypt work factor (log2 N). age's CLI default is 18, which costs ≈ 260 MiB of memory in the
 * JS implementation (measured 565 MB RSS on Node 20); 16 costs ≈ 64 MiB and a fraction of a second,
 * and the passphrase's length carries the rest (at least 16 characters).
 */
const SCRYPT_WORK_FACTOR = 16;
export const MIN_KIT_PASSPHRASE = 16;
const MAX_KIT_BYTES = 4 * 1024 * 1024;

const DATA_BEGIN = '-----BEGIN LIFEBOAT KIT DATA-----';
const DATA_END = '-----END LIFEBOAT KIT DATA-----';

const kitKeySchema = z.object({ slot: z.string().min(1), label: z.string(), value: z.string().min(1) }).strict();
const kitDataSchema = z.object({
  format: z.literal('lifeboat-recovery-kit'),
  version: z.literal(1),
  createdAt: z.string(),
  vault: z.object({ id: z.string().min(1), location: z.string().min(1), password: z.string().min(1), createdAt: z.string() }).strict().nullable(),
  installations: z.array(
    z.object({
      id: z.string().min(1),
      name: z.string().min(1),
      app: z.string().min(1),
      /** The installation as Lifeboat kept it, without secrets (connections, settings). */
      definition: z.record(z.string(), z.unknown()),
      keys: z.array(kitKeySchema),
    }).strict(),
  ),
});
type KitData = z.infer<typeof kitDataSchema>;

/** The keys of one installation that open its archives (never its connection secrets). */
async function archiveKeysOf(core: Core, installation: Installation): Promise<KitData['installations'][number]['keys']> {
  if (!core.apps.has(installation.app)) return [];
  const module = core.apps.get(installation.app);
  const keys: KitData['installations'][number]['keys'] = [];
  for (const info of module.secretSlots.filter((s) => s.archiveKey)) {
    const slots = installation.secretPurposes.filter((p) => (info.keyed ? p.startsWith(`${info.slot}:`) : p === info.slot));
    for (const slot of slots) {
      const value = await core.registry.secret(installation.id, slot);
      if (value) keys.push({ slot, label: info.keyed ? `${info.label} (${slot.slice(info.slot.length + 1)})` : info.label, value });
    }
  }
  return keys;
}

function humanText(data: KitData, vaultText: string | null, readmes: { label: string; text: string }[]): string {
  const lines = [
    'LIFEBOAT COMBINED RECOVERY KIT',
    '',
    'This file holds the vault\'s password AND the keys that open the apps\' own backups.',
    'Anyone with it can read every backup, in the vault and on the servers. Keep it offline.',
    '',
    vaultText ?? 'No vault was set up when this kit was made.',
    '',
    '== APP KEYS ==',
    '',
  ];
  if (data.installations.length === 0) lines.push('Lifeboat held no app keys when this kit was made.', '');
  for (const inst of data.installations) {
    lines.push(`Installation "${inst.name}" (${inst.app}, id ${inst.id}):`);
    for (const key of inst.keys) lines.push(`  ${key.label}`, `    slot ${key.slot}`, `    ${key.value}`);
    lines.push('');
  }
  lines.push('== OPENING EACH APP\'S ARCHIVES BY HAND ==', '');
  for (const readme of readmes) lines.push(`-- ${readme.label} --`, '', readme.text, '');
  lines.push(
    '== BACK INTO LIFEBOAT ==',
    '',
    'On a new computer: lifeboat vault import-kit THIS-FILE.age  (the passphrase on standard input)',
    'restores the vault connection, the installations (without their connection passwords and',
    'tokens, which the kit does not carry) and every key above. The block below is for that command.',
    '',
    DATA_BEGIN,
    JSON.stringify(data, null, 2),
    DATA_END,
    '',
  );
  return lines.join('\n');
}

/** The combined kit: an armored age file, encrypted to `passphrase`. */
export async function combinedRecoveryKit(core: Core, passphrase: string): Promise<{ fileName: string; text: string; keyCount: number }> {
  if (passphrase.length < MIN_KIT_PASSPHRASE) throw new LifeboatError('INVALID_INPUT', `The kit's passphrase must be at least ${MIN_KIT_PASSPHRASE} characters (a few words): it alone protects every key in it.`);
  const status = await core.vault.status();
  const vault = status.initialized ? await core.vault.recoveryFacts() : null;
  const vaultText = status.initialized ? (await core.vault.recoveryKit()).text : null;
  const installations: KitData['installations'] = [];
  for (const installation of await core.registry.list()) {
    const keys = await archiveKeysOf(core, installation);
    if (keys.length === 0) continue;
    const { id, secretPurposes: _purposes, createdAt: _c, updatedAt: _u, ...definition } = installation;
    installations.push({ id, name: installation.name, app: installation.app, definition, keys });
  }
  const data: KitData = { format: 'lifeboat-recovery-kit', version: 1, createdAt: new Date().toISOString(), vault, installations };
  const readmes = [...new Set(installations.map((i) => i.app))].flatMap((app) => {
    const module = core.apps.get(app);
    return module.decryptByHand ? [{ label: module.label, text: module.decryptByHand }] : [];
  });
  const encrypter = new Encrypter();
  encrypter.setPassphrase(passphrase);
  encrypter.setScryptWorkFactor(SCRYPT_WORK_FACTOR);
  const sealed = await encrypter.encrypt(humanText(data, vaultText, readmes));
  const stamp = vault?.id.slice(0, 8) ?? os.hostname().replace(/[^A-Za-z0-9-]/g, '_');
  return { fileName: `lifeboat-recovery-kit-${stamp}-with-app-keys.txt.age`, text: armor.encode(sealed), keyCount: installations.reduce((n, i) => n + i.keys.length, 0) };
}

/** Opens a combined kit: INVALID_INPUT when it is not one, VAULT_WRONG_PASSWORD for a wrong passphrase. */
async function openKit(bytes: Buffer, passphrase: string): Promise<KitData> {
  if (bytes.length > MAX_KIT_BYTES) throw new LifeboatError('INVALID_INPUT', `The file is ${bytes.length} bytes; a recovery kit is far smaller.`);
  const text = bytes.toString('utf8').trim();
  let sealed: Uint8Array;
  try {
    sealed = text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ? armor.decode(text) : new Uint8Array(bytes);
  } catch (error) {
    throw new LifeboatError('INVALID_INPUT', `Not a Lifeboat recovery kit: its age armor is broken (${(error as Error).message}).`, { cause: error });
  }
  if (!Buffer.from(sealed.subarray(0, 21)).toString('latin1').startsWith('age-encryption.org/v1')) {
    throw new LifeboatError('INVALID_INPUT', 'Not a Lifeboat recovery kit with app keys: it is not an age file (the plain vault kit needs no import: its password opens the vault).');
  }
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  let plain: string;
  try {
    plain = await decrypter.decrypt(sealed, 'text');
  } catch (error) {
    const message = (error as Error).message;
    if (/incorrect passphrase|no identity matched/i.test(message)) throw new LifeboatError('VAULT_WRONG_PASSWORD', 'The passphrase does not open this recovery kit.', { cause: error });
    throw new LifeboatError('INVALID_INPUT', `The recovery kit could not be decrypted: ${message}.`, { cause: error });
  }
  const begin = plain.indexOf(DATA_BEGIN);
  const end = plain.indexOf(DATA_END, begin);
  if (begin < 0 || end < 0) throw new LifeboatError('INVALID_INPUT', 'The age file opened, but it is not a Lifeboat recovery kit (no kit data block).');
  let json: unknown;
  try {
    json = JSON.parse(plain.slice(begin + DATA_BEGIN.length, end));
  } catch (error) {
    throw new LifeboatError('INVALID_INPUT', `The recovery kit's data block is not JSON (${(error as Error).message}).`, { cause: error });
  }
  const parsed = kitDataSchema.safeParse(json);
  if (!parsed.success) throw new LifeboatError('INVALID_INPUT', `The recovery kit's data block is not one Lifeboat wrote: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}.`);
  return parsed.data;
}

/** What importing a kit would do, changing nothing. */
export async function inspectCombinedKit(core: Core, bytes: Buffer, passphrase: string): Promise<KitContents> {
  const data = await openKit(bytes, passphrase);
  const status = await core.vault.status();
  const existing = await core.registry.list();
  return {
    createdAt: data.createdAt,
    vault: data.vault ? { id: data.vault.id, location: data.vault.location, isThisVault: status.id === data.vault.id } : null,
    thisVaultId: status.id,
    installations: data.installations.map((inst) => ({
      name: inst.name,
      app: inst.app,
      keys: inst.keys.map((k) => k.label),
      existingName: (existing.find((i) => i.id === inst.id) ?? existing.find((i) => i.name === inst.name && i.app === inst.app))?.name ?? null,
    })),
  };
}

/**
 * Imports a combined kit: the vault (taken over when this Lifeboat has none and it is reachable),
 * and each installation's keys — onto the installation of the same id or name and app, or onto
 * a new installation made from the kit's definition (its connection secrets entered later).
 */
export async function importCombinedKit(core: Core, bytes: Buffer, passphrase: string): Promise<KitImportReport> {
  const data = await openKit(bytes, passphrase);
  const vault: KitImportReport['vault'] = data.vault ? await core.vault.adopt(data.vault) : { outcome: 'none', detail: 'The kit carries no vault.' };
  const existing = await core.registry.list();
  const installations: KitImportReport['installations'] = [];
  for (const inst of data.installations) {
    const secrets = Object.fromEntries(inst.keys.map((k) => [k.slot, k.value]));
    const match = existing.find((i) => i.id === inst.id) ?? existing.find((i) => i.name === inst.name && i.app === inst.app);
    if (match) {
      if (match.app !== inst.app) throw new LifeboatError('INVALID_INPUT', `The kit's "${inst.name}" is a ${inst.app} installation, but this Lifeboat's installation of that id is ${match.app}.`);
      await core.registry.addSecrets(match.id, secrets);
      installations.push({ name: match.name, app: match.app, installationId: match.id, created: false, keys: inst.keys.map((k) => k.label) });
      continue;
    }
    const definition = installationInputSchema.safeParse({ ...inst.definition, secrets });
    if (!definition.success) throw new LifeboatError('INVALID_INPUT', `The kit's installation "${inst.name}" cannot be recreated: ${definition.error.issues[0]?.message}.`);
    const added = await core.registry.add(definition.data, { id: inst.id });
    installations.push({ name: added.name, app: added.app, installationId: added.id, created: true, keys: inst.keys.map((k) => k.label) });
  }
  if (installations.length) core.events.emit('installations:changed', { reason: 'recovery kit imported' });
  return { vault, installations };
}
