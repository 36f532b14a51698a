/**
 * The add/edit form as plain strings, and its translation to an `InstallationInput` checked by
 * the same zod schema the core uses, so the form shows the core's rules before a round trip.
 */
import type { AppModuleInfo, SettingDescriptor } from '../../../shared/apps';
import {
  installationInputSchema,
  normalizeTags,
  type AppKind,
  type Installation,
  type InstallationInput,
  type SecretPurpose,
} from '../../../shared/installations';

export type SshAuth = 'agent' | 'key' | 'password';
export type HttpsAuth = 'none' | 'bearer' | 'password';

/** Everything the form edits; numbers stay text until submit so a half-typed value is not lost. */
export interface InstallationForm {
  name: string;
  app: AppKind;
  useSsh: boolean;
  ssh: {
    host: string;
    port: string;
    user: string;
    auth: SshAuth;
    keyFile: string;
    jumpHost: string;
    /**
     * Pinned by an explicit trust. The core keeps the old pin when this is left out for the same
     * host, so a verified key change is entered here as the new value, never by clearing.
     */
    hostKeySha256: string;
    connectTimeoutMs?: number;
    idleTimeoutMs?: number;
  };
  useHttps: boolean;
  https: {
    baseUrl: string;
    auth: HttpsAuth;
    username: string;
    pinnedCertSha256: string;
    caFile: string;
    timeoutMs?: number;
  };
  /** The app module's settings by key, as typed; empty means the module's default. */
  settings: Record<string, string>;
  expectedCadenceHours: string;
  /** Tags as typed, comma-separated ("customer A, production"). */
  tags: string;
  /** Typed in this session only; sent once, never read back. */
  secrets: Partial<Record<SecretPurpose, string>>;
}

/** Field path (as in zod issues, dot-joined) → the message to show next to that field. */
export type FieldErrors = Record<string, string>;

/** A blank form for a new installation of the given app (the first module the core lists). */
export function emptyForm(app: AppKind): InstallationForm {
  return {
    name: '',
    app,
    useSsh: true,
    ssh: { host: '', port: '22', user: '', auth: 'key', keyFile: '', jumpHost: '', hostKeySha256: '' },
    useHttps: false,
    https: { baseUrl: '', auth: 'none', username: '', pinnedCertSha256: '', caFile: '' },
    settings: {},
    expectedCadenceHours: '24',
    tags: '',
    secrets: {},
  };
}

/** The form for editing an existing installation (secrets are never sent to us, so none are filled). */
export function formFromInstallation(installation: Installation): InstallationForm {
  const blank = emptyForm(installation.app);
  const { ssh, https } = installation;
  const settings = Object.fromEntries(Object.entries(installation.settings).map(([key, value]) => [key, String(value)]));
  return {
    name: installation.name,
    app: installation.app,
    useSsh: ssh !== undefined,
    ssh: ssh
      ? {
          host: ssh.host,
          port: ssh.port === undefined ? '' : String(ssh.port),
          user: ssh.user ?? '',
          auth: ssh.auth,
          keyFile: ssh.keyFile ?? '',
          jumpHost: ssh.jumpHost ?? '',
          hostKeySha256: ssh.hostKeySha256 ?? '',
          connectTimeoutMs: ssh.connectTimeoutMs,
          idleTimeoutMs: ssh.idleTimeoutMs,
        }
      : blank.ssh,
    useHttps: https !== undefined,
    https: https
      ? {
          baseUrl: https.baseUrl,
          auth: https.auth,
          username: https.username ?? '',
          pinnedCertSha256: https.pinnedCertSha256 ?? '',
          caFile: https.caFile ?? '',
          timeoutMs: https.timeoutMs,
        }
      : blank.https,
    settings,
    expectedCadenceHours: installation.expectedCadenceHours === undefined ? '' : String(installation.expectedCadenceHours),
    tags: installation.tags.join(', '),
    secrets: {},
  };
}

/** The secrets each choice of authentication asks for, plus the module's own slots, so only relevant ones are sent. */
export function relevantSecretPurposes(form: InstallationForm, module: AppModuleInfo | undefined): SecretPurpose[] {
  const purposes: SecretPurpose[] = [];
  if (form.useSsh && form.ssh.auth === 'password') purposes.push('ssh-password');
  if (form.useSsh && form.ssh.auth === 'key') purposes.push('ssh-key-passphrase');
  if (form.useHttps && form.https.auth === 'password') purposes.push('https-password');
  if (form.useHttps && form.https.auth === 'bearer') purposes.push('api-token');
  for (const slot of module?.secretSlots ?? []) if (!slot.keyed) purposes.push(slot.slot);
  return purposes;
}

/** The module's settings that matter with the transports the form has on. */
export function visibleSettings(form: InstallationForm, module: AppModuleInfo | undefined): SettingDescriptor[] {
  return (module?.settings ?? []).filter((s) => !s.transport || (s.transport === 'ssh' ? form.useSsh : form.useHttps));
}

const blankToUndefined = (value: string): string | undefined => (value.trim() === '' ? undefined : value.trim());

/** Parses a number field; records a readable error instead of letting NaN reach the schema. */
function numberField(value: string, path: string, errors: FieldErrors, what: string, kind: 'whole' | 'any'): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const n = Number(text);
  if (kind === 'whole' ? !/^\d+$/.test(text) : !Number.isFinite(n)) {
    errors[path] = `${what} must be a ${kind === 'whole' ? 'whole ' : ''}number`;
    return undefined;
  }
  return n;
}

/**
 * Builds the request body from the form; `errors` holds what cannot even be expressed as input.
 * Settings the module does not know (or that are empty) are not sent: the core refuses unknown ones.
 */
export function formToInput(form: InstallationForm, module: AppModuleInfo | undefined): { input: InstallationInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const settings: Record<string, string> = {};
  for (const field of module?.settings ?? []) {
    const value = form.settings[field.key]?.trim() ?? '';
    if (value !== '') settings[field.key] = value;
  }

  const secrets: Record<SecretPurpose, string> = {};
  for (const purpose of relevantSecretPurposes(form, module)) {
    const value = form.secrets[purpose];
    if (value) secrets[purpose] = value;
  }

  const input: InstallationInput = {
    name: form.name,
    app: form.app,
    settings,
    ...(form.useSsh
      ? {
          ssh: {
            host: form.ssh.host,
            port: numberField(form.ssh.port, 'ssh.port', errors, 'port', 'whole'),
            user: blankToUndefined(form.ssh.user),
            auth: form.ssh.auth,
            keyFile: form.ssh.auth === 'key' ? blankToUndefined(form.ssh.keyFile) : undefined,
            jumpHost: blankToUndefined(form.ssh.jumpHost),
            hostKeySha256: blankToUndefined(form.ssh.hostKeySha256),
            connectTimeoutMs: form.ssh.connectTimeoutMs,
            idleTimeoutMs: form.ssh.idleTimeoutMs,
          },
        }
      : {}),
    ...(form.useHttps
      ? {
          https: {
            baseUrl: form.https.baseUrl,
            auth: form.https.auth,
            username: form.https.auth === 'password' ? blankToUndefined(form.https.username) : undefined,
            pinnedCertSha256: blankToUndefined(form.https.pinnedCertSha256),
            caFile: blankToUndefined(form.https.caFile),
            timeoutMs: form.https.timeoutMs,
          },
        }
      : {}),
    expectedCadenceHours: numberField(form.expectedCadenceHours, 'expectedCadenceHours', errors, 'expected cadence', 'any'),
    tags: normalizeTags(form.tags.split(',')),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
  };
  return { input: stripUndefined(input), errors };
}

/** JSON drops undefined anyway; dropping it here keeps `.strict()` schemas and equality checks simple. */
function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Runs the shared schema; returns the input ready to send, or the errors per field. */
export function validateForm(form: InstallationForm, module: AppModuleInfo | undefined): { ok: true; input: InstallationInput } | { ok: false; errors: FieldErrors } {
  const { input, errors } = formToInput(form, module);
  const parsed = installationInputSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.') || 'form';
      // A local "must be a whole number" is clearer than the schema's message for the same field.
      errors[path] ??= issue.message;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, input };
}

/** Maps field errors from a server INVALID_INPUT envelope, when it lists zod-like issues. */
export function errorsFromDetails(details: Record<string, unknown> | undefined): FieldErrors {
  const issues = details?.issues;
  const errors: FieldErrors = {};
  if (!Array.isArray(issues)) return errors;
  for (const issue of issues as unknown[]) {
    if (typeof issue !== 'object' || issue === null) continue;
    const { path, message } = issue as { path?: unknown; message?: unknown };
    if (typeof message !== 'string') continue;
    const key = Array.isArray(path) ? path.map(String).join('.') : typeof path === 'string' ? path : 'form';
    // An update wraps the input in `changes`; the form's fields are the same below it.
    errors[key.replace(/^changes\./, '') || 'form'] ??= message;
  }
  return errors;
}
