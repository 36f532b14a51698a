import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { SettingDescriptor } from '../../../shared/apps';
import type { Installation, SecretPurpose } from '../../../shared/installations';
import { LifeboatError } from '../../../shared/errors';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { Field, Segmented } from '../../components/field';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import {
  emptyForm,
  errorsFromDetails,
  formFromInstallation,
  validateForm,
  visibleSettings,
  type FieldErrors,
  type HttpsAuth,
  type InstallationForm,
  type SshAuth,
} from './form-model';
import { ScheduleEditor, draftFromSchedule, emptyScheduleDraft, scheduleFromDraft, type ScheduleDraft } from '../unattended/schedule-editor';
import type { ScheduleSpec } from '../../../shared/schedule';

const SSH_AUTH: readonly { value: SshAuth; label: string }[] = [
  { value: 'key', label: 'Key file' },
  { value: 'agent', label: 'SSH agent' },
  { value: 'password', label: 'Password' },
];

const HTTPS_AUTH: readonly { value: HttpsAuth; label: string }[] = [
  { value: 'none', label: 'None' },
  { value: 'bearer', label: 'API token' },
  { value: 'password', label: 'User + password' },
];


/**
 * Add or edit an installation. Validates with the core's own schema before sending; secrets go
 * out once in `secrets` and are never shown back — only whether one is stored.
 */
export function InstallationFormDialog(props: {
  /** The installation to edit; absent to add a new one. */
  installation?: Installation;
  onClose: () => void;
  onSaved: (installation: Installation, testNow: boolean) => void;
}): ReactNode {
  const { installation, onClose, onSaved } = props;
  const modules = useStore((s) => s.system.modules);
  const [form, setForm] = useState<InstallationForm>(() => (installation ? formFromInstallation(installation) : emptyForm(modules[0]?.kind ?? '')));
  const module = modules.find((m) => m.kind === form.app);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [serverError, setServerError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [testNow, setTestNow] = useState(true);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = installation !== undefined;
  // Opened to store a secret a restore made worthless: that field has the focus, not the name.
  const renewing = useStore((s) => (installation ? s.fleet.statuses[installation.id]?.action?.kind === 'renew-secret' : false));
  const [schedule, setSchedule] = useState<ScheduleDraft>(emptyScheduleDraft);
  const [defaultPull, setDefaultPull] = useState<ScheduleSpec | null>(null);
  const canTrigger = useStore((s) => (installation ? (s.fleet.overview?.[installation.id]?.capabilities.trigger ?? false) : false));
  useEffect(() => {
    void api.call('schedule:overview', {}).then((o) => {
      setDefaultPull(o.defaultPull);
      if (installation) setSchedule(draftFromSchedule(o.installations[installation.id]));
    }, () => undefined);
  }, [installation]);

  const patch = (changes: Partial<InstallationForm>): void => setForm((f) => ({ ...f, ...changes }));
  const patchSsh = (changes: Partial<InstallationForm['ssh']>): void => setForm((f) => ({ ...f, ssh: { ...f.ssh, ...changes } }));
  const patchHttps = (changes: Partial<InstallationForm['https']>): void => setForm((f) => ({ ...f, https: { ...f.https, ...changes } }));
  const setSecret = (purpose: SecretPurpose, value: string): void => setForm((f) => ({ ...f, secrets: { ...f.secrets, [purpose]: value } }));

  const focusFirstError = (): void => {
    // After React has rendered the messages: move focus to the first field that needs attention.
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
  };

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setServerError(null);
    const result = validateForm(form, module);
    if (!result.ok) {
      setErrors(result.errors);
      focusFirstError();
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const saved = installation
        ? await api.call('installations:update', { id: installation.id, changes: result.input })
        : await api.call('installations:add', result.input);
      await api.call('schedule:set', { installationId: saved.id, installation: scheduleFromDraft(schedule) });
      onSaved(saved, testNow);
    } catch (error) {
      setServerError(error);
      if (error instanceof LifeboatError && error.code === 'INVALID_INPUT') {
        setErrors(errorsFromDetails(error.details));
        focusFirstError();
      }
      setBusy(false);
    }
  };

  const e = (path: string): string | undefined => errors[path];

  return (
    <Dialog
      title={editing ? `Edit ${installation.name}` : 'Add installation'}
      onClose={onClose}
      wide
      footer={
        <>
          <label className="checkbox push-left">
            <input type="checkbox" checked={testNow} onChange={(ev) => setTestNow(ev.target.checked)} />
            Test the connection after saving
          </label>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="installation-form" className="button button-primary" disabled={busy}>
            {editing ? 'Save changes' : 'Add installation'}
          </button>
        </>
      }
    >
      <form id="installation-form" ref={formRef} className="form" onSubmit={(ev) => void submit(ev)} noValidate>
        {serverError ? <ErrorMessage error={serverError} title="The core did not accept this:" /> : null}

        <div className="form-grid">
          <Field label="Name" error={e('name')} className="span-4">
            {(c) => <input {...c} type="text" value={form.name} onChange={(ev) => patch({ name: ev.target.value })} placeholder="e.g. Office Nojoin" autoComplete="off" data-autofocus={renewing ? undefined : true} />}
          </Field>
          <Field label="App" error={e('app')} className="span-2">
            {(c) => (
              <select {...c} value={form.app} onChange={(ev) => patch({ app: ev.target.value })}>
                {modules.map((m) => (
                  <option key={m.kind} value={m.kind}>
                    {m.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>

        {/* The schema's "needs SSH or HTTPS" rule reports at path `ssh`. */}
        {e('ssh') ? (
          <div className="alert alert-danger" role="alert">
            {e('ssh')}
          </div>
        ) : null}

        <fieldset className="form-section">
          <legend>
            <label className="form-section-toggle">
              <input type="checkbox" checked={form.useSsh} onChange={(ev) => patch({ useSsh: ev.target.checked })} />
              SSH
            </label>
          </legend>
          {form.useSsh ? (
            <>
              <div className="form-grid">
                <Field label="Host" error={e('ssh.host')} className="span-3" hint="Name, address, or a Host alias from ~/.ssh/config">
                  {(c) => <input {...c} type="text" value={form.ssh.host} onChange={(ev) => patchSsh({ host: ev.target.value })} placeholder="backup.example.org" autoComplete="off" spellCheck={false} />}
                </Field>
                <Field label="Port" error={e('ssh.port')} className="span-1">
                  {(c) => <input {...c} type="text" inputMode="numeric" value={form.ssh.port} onChange={(ev) => patchSsh({ port: ev.target.value })} placeholder="22" />}
                </Field>
                <Field label="User" error={e('ssh.user')} className="span-2">
                  {(c) => <input {...c} type="text" value={form.ssh.user} onChange={(ev) => patchSsh({ user: ev.target.value })} placeholder="backup" autoComplete="off" spellCheck={false} />}
                </Field>
              </div>
              <div className="form-grid">
                <div className="span-6">
                  <Segmented label="Authentication" name="ssh-auth" value={form.ssh.auth} options={SSH_AUTH} onChange={(auth) => patchSsh({ auth })} />
                </div>
                {form.ssh.auth === 'key' ? (
                  <>
                    <Field label="Private key file" error={e('ssh.keyFile')} className="span-4" hint="A path on the machine running Lifeboat">
                      {(c) => <input {...c} type="text" value={form.ssh.keyFile} onChange={(ev) => patchSsh({ keyFile: ev.target.value })} placeholder="~/.ssh/id_ed25519" spellCheck={false} />}
                    </Field>
                    <SecretField purpose="ssh-key-passphrase" label="Key passphrase" form={form} installation={installation} onChange={setSecret} error={e('secrets.ssh-key-passphrase')} className="span-2" />
                  </>
                ) : null}
                {form.ssh.auth === 'password' ? (
                  <SecretField purpose="ssh-password" label="SSH password" form={form} installation={installation} onChange={setSecret} error={e('secrets.ssh-password')} className="span-3" />
                ) : null}
                {form.ssh.auth === 'agent' ? <p className="span-6 field-hint">Lifeboat asks the running SSH agent ($SSH_AUTH_SOCK) for keys.</p> : null}
              </div>
              <div className="form-grid">
                <Field label="Jump host (optional)" error={e('ssh.jumpHost')} className="span-3" hint="user@bastion:port, as in ProxyJump">
                  {(c) => <input {...c} type="text" value={form.ssh.jumpHost} onChange={(ev) => patchSsh({ jumpHost: ev.target.value })} spellCheck={false} />}
                </Field>
                <Field
                  label="Pinned host key"
                  error={e('ssh.hostKeySha256')}
                  className="span-3"
                  hint={form.ssh.hostKeySha256 ? 'Only this key is accepted. After a verified key change, paste the new SHA256 value here.' : 'Empty: the first connection test shows the key and asks you to trust it.'}
                >
                  {(c) => <input {...c} type="text" className="mono" value={form.ssh.hostKeySha256} onChange={(ev) => patchSsh({ hostKeySha256: ev.target.value.trim() })} placeholder="SHA256:…" spellCheck={false} autoComplete="off" />}
                </Field>
              </div>
            </>
          ) : (
            <p className="field-hint">Turn on to reach this installation over SSH (files, database dumps, commands).</p>
          )}
        </fieldset>

        <fieldset className="form-section">
          <legend>
            <label className="form-section-toggle">
              <input type="checkbox" checked={form.useHttps} onChange={(ev) => patch({ useHttps: ev.target.checked })} />
              HTTPS
            </label>
          </legend>
          {form.useHttps ? (
            <>
              <div className="form-grid">
                <Field label="Base URL" error={e('https.baseUrl')} className="span-6">
                  {(c) => <input {...c} type="url" value={form.https.baseUrl} onChange={(ev) => patchHttps({ baseUrl: ev.target.value })} placeholder="https://nojoin.example.org" spellCheck={false} />}
                </Field>
                <div className="span-6">
                  <Segmented label="Authentication" name="https-auth" value={form.https.auth} options={HTTPS_AUTH} onChange={(auth) => patchHttps({ auth })} />
                </div>
                {form.https.auth === 'password' ? (
                  <>
                    <Field label="Username" error={e('https.username')} className="span-3">
                      {(c) => <input {...c} type="text" value={form.https.username} onChange={(ev) => patchHttps({ username: ev.target.value })} autoComplete="off" spellCheck={false} />}
                    </Field>
                    <SecretField purpose="https-password" label="Password" form={form} installation={installation} onChange={setSecret} error={e('secrets.https-password')} className="span-3" />
                  </>
                ) : null}
                {form.https.auth === 'bearer' ? (
                  <SecretField purpose="api-token" label="API token" form={form} installation={installation} onChange={setSecret} error={e('secrets.api-token')} className="span-4" />
                ) : null}
              </div>
              <div className="form-grid">
                <Field label="Pinned certificate SHA-256 (optional)" error={e('https.pinnedCertSha256')} className="span-4" hint="Usually filled in by trusting the certificate after a test">
                  {(c) => <input {...c} type="text" className="mono" value={form.https.pinnedCertSha256} onChange={(ev) => patchHttps({ pinnedCertSha256: ev.target.value })} spellCheck={false} />}
                </Field>
                <Field label="Private CA file (optional)" error={e('https.caFile')} className="span-2" hint="PEM, on this machine">
                  {(c) => <input {...c} type="text" value={form.https.caFile} onChange={(ev) => patchHttps({ caFile: ev.target.value })} spellCheck={false} />}
                </Field>
              </div>
            </>
          ) : (
            <p className="field-hint">Turn on to use the app’s web API (health checks, triggering backups, downloads).</p>
          )}
        </fieldset>

        <fieldset className="form-section">
          <legend>App settings</legend>
          {module ? <p className="field-hint">{module.summary}</p> : null}
          <div className="form-grid">
            {visibleSettings(form, module).map((setting) => (
              <SettingField key={setting.key} setting={setting} value={form.settings[setting.key] ?? ''} error={e(`settings.${setting.key}`)} onChange={(value) => patch({ settings: { ...form.settings, [setting.key]: value } })} />
            ))}
          </div>
          <div className="form-grid">
            <Field label="Expected backup every (hours)" error={e('expectedCadenceHours')} className="span-2" hint="For the fleet’s “backup is late” warning">
              {(c) => <input {...c} type="text" inputMode="decimal" value={form.expectedCadenceHours} onChange={(ev) => patch({ expectedCadenceHours: ev.target.value })} />}
            </Field>
            <Field label="Tags" error={e('tags') ?? Object.entries(errors).find(([key]) => key.startsWith('tags.'))?.[1]} className="span-2" hint="Comma-separated, e.g. “customer A, production”; the fleet groups and filters by them">
              {(c) => <input {...c} type="text" value={form.tags} onChange={(ev) => patch({ tags: ev.target.value })} />}
            </Field>
            {(module?.secretSlots ?? [])
              .filter((slot) => !slot.keyed)
              .map((slot) => (
                <SecretField key={slot.slot} purpose={slot.slot} label={`${slot.label} (optional)`} form={form} installation={installation} onChange={setSecret} error={e(`secrets.${slot.slot}`)} className="span-2" />
              ))}
          </div>
        </fieldset>
        <ScheduleEditor draft={schedule} onChange={setSchedule} installationId={installation?.id} defaultPull={defaultPull} canTrigger={canTrigger} />
      </form>
    </Dialog>
  );
}

/** One setting of the app module: a choice, a switch, or text with its default as the placeholder. */
function SettingField(props: { setting: SettingDescriptor; value: string; error: string | undefined; onChange: (value: string) => void }): ReactNode {
  const { setting, value } = props;
  const wide = setting.kind === 'command' || setting.kind === 'path' ? 'span-6' : 'span-3';
  const placeholder = setting.default === null || setting.default === '' ? (setting.example ? `e.g. ${setting.example}` : '') : String(setting.default);
  return (
    <Field label={setting.label} error={props.error} className={wide} hint={setting.help}>
      {(c) =>
        setting.kind === 'choice' ? (
          <select {...c} value={value} onChange={(ev) => props.onChange(ev.target.value)}>
            <option value="">Default ({String(setting.default ?? 'none')})</option>
            {(setting.choices ?? []).map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        ) : setting.kind === 'boolean' ? (
          <select {...c} value={value} onChange={(ev) => props.onChange(ev.target.value)}>
            <option value="">Default ({String(setting.default ?? 'off')})</option>
            <option value="true">On</option>
            <option value="false">Off</option>
          </select>
        ) : (
          <input
            {...c}
            type="text"
            className={setting.kind === 'command' || setting.kind === 'path' ? 'mono' : undefined}
            inputMode={setting.kind === 'number' ? 'decimal' : undefined}
            value={value}
            placeholder={placeholder}
            onChange={(ev) => props.onChange(ev.target.value)}
            spellCheck={false}
            autoComplete="off"
          />
        )
      }
    </Field>
  );
}

/** A password field for one secret; when one is stored, says where and offers to forget it. */
function SecretField(props: {
  purpose: SecretPurpose;
  label: string;
  form: InstallationForm;
  installation: Installation | undefined;
  onChange: (purpose: SecretPurpose, value: string) => void;
  error: string | undefined;
  className?: string;
}): ReactNode {
  const { purpose, installation } = props;
  const backend = useStore((s) => s.system.info?.secrets);
  const stored = installation?.secretPurposes.includes(purpose) ?? false;
  // Opened from "Store a new …" on the row: the form starts at the secret the restore made worthless.
  const renewing = useStore((s) => {
    const action = installation ? s.fleet.statuses[installation.id]?.action : undefined;
    return action?.kind === 'renew-secret' && action.slot === purpose;
  });
  const [forgetting, setForgetting] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const forget = async (): Promise<void> => {
    if (!installation) return;
    setForgetting(true);
    setError(null);
    try {
      await api.call('installations:forget-secret', { id: installation.id, purpose });
    } catch (e) {
      setError(e);
    } finally {
      setForgetting(false);
    }
  };

  const where = backend?.kind === 'ask-every-time' ? 'memory for this session' : (backend?.description ?? 'the keychain');
  return (
    <Field
      label={props.label}
      error={props.error}
      className={props.className}
      hint={
        stored ? (
          <span className="secret-stored">
            ✓ Stored in {where}.
            <button type="button" className="button-link" onClick={() => void forget()} disabled={forgetting}>
              Forget
            </button>
            {error ? <ErrorMessage error={error} /> : null}
          </span>
        ) : backend?.kind === 'unavailable' ? (
          'No keychain: choose “ask every time” in the banner above to use secrets this session.'
        ) : undefined
      }
    >
      {(c) => (
        <input
          {...c}
          type="password"
          autoComplete="new-password"
          data-autofocus={renewing ? true : undefined}
          value={props.form.secrets[purpose] ?? ''}
          placeholder={stored ? 'Leave empty to keep the stored one' : ''}
          onChange={(ev) => props.onChange(purpose, ev.target.value)}
        />
      )}
    </Field>
  );
}
