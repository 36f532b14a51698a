/**
 * Settings schemas for app modules, built from the descriptors the installation form shows, so
 * the form, `installations:add` and the module read one definition.
 */
import { z } from 'zod';
import type { SettingDescriptor } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { Installation } from '../../../shared/installations';
import type { SettingsSpec } from '../module';

/** A descriptor plus the rule its value must follow beyond its kind. */
export interface SettingField extends SettingDescriptor {
  /** For `number`: the value must be > 0. */
  positive?: boolean;
  /** For `path`: the value must be absolute on the server. */
  absolute?: boolean;
}

type Raw = string | number | boolean;

const numberText = /^\s*-?\d+(\.\d+)?\s*$/;

function fieldSchema(field: SettingField): z.ZodType<Raw> {
  const blank = z.literal('');
  switch (field.kind) {
    case 'number': {
      const check = (n: number) => Number.isFinite(n) && (!field.positive || n > 0);
      const message = `${field.label} must be a${field.positive ? ' positive' : ''} number`;
      return z.union([blank, z.number().refine(check, message), z.string().regex(numberText, message).refine((t) => check(Number(t)), message)]);
    }
    case 'boolean':
      return z.union([z.boolean(), z.enum(['true', 'false', '']).describe(`${field.label} is true or false`)]);
    case 'choice': {
      const values = (field.choices ?? []).map((c) => c.value);
      return z.union([blank, z.string().refine((v) => values.includes(v.trim()), `${field.label} is one of ${values.join(', ')}`)]);
    }
    case 'path':
      return z.union([blank, z.string().max(4096).refine((v) => !field.absolute || v.trim().startsWith('/'), `${field.label} must be an absolute path on the server (starting with /)`)]);
    case 'text':
    case 'command':
      return z.string().max(16_384);
  }
}

/** The settings spec of a module: a strict schema (unknown keys are named) and the form's fields. */
export function defineSettings(fields: SettingField[]): SettingsSpec & { fields: SettingField[] } {
  const shape = Object.fromEntries(fields.map((f) => [f.key, fieldSchema(f).optional()]));
  const known = fields.map((f) => f.key);
  const schema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: `“${key}” is not a setting of this app${known.length ? `; its settings are ${known.join(', ')}` : ''}` });
    }
    const parsed = z.object(shape).safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
  return { schema, fields };
}

/**
 * The installation's settings with defaults applied, every value as text ('' when unset and
 * without a default); INVALID_INPUT names the first bad setting (settings saved before a rule
 * existed are checked here too).
 */
export function readSettingsText(spec: SettingsSpec, installation: Pick<Installation, 'settings' | 'name'>): Record<string, string> {
  const raw = installation.settings ?? {};
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join('.') ?? '';
    throw new LifeboatError('INVALID_INPUT', `The setting ${key} of "${installation.name}" is not valid: ${issue?.message ?? 'unknown problem'}.`, { details: { setting: key } });
  }
  const values: Record<string, string> = {};
  for (const field of spec.fields) {
    const value = raw[field.key];
    const text = value === undefined ? '' : String(value).trim();
    values[field.key] = text !== '' ? text : field.default === null ? '' : String(field.default);
  }
  return values;
}

/** A number setting read by `readSettingsText`, or null when empty. */
export function numberOrNull(text: string): number | null {
  return text === '' ? null : Number(text);
}

/** A port setting read by `readSettingsText`; INVALID_INPUT names the setting when it is not 1–65535. */
export function portSetting(text: string, key: string, installation: Pick<Installation, 'name'>): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LifeboatError('INVALID_INPUT', `Setting ${key} of "${installation.name}" must be a port number (1–65535).`, { details: { setting: key } });
  }
  return port;
}
