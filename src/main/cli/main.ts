import { Command, Option } from 'commander';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../../shared/errors';
import { normalizeTags, TRANSPORT_SECRET_SLOTS, type Installation, type InstallationInput, type SecretPurpose } from '../../shared/installations';
import { APP_MODULES } from '../apps/registry';
import type { ConnectionTestReport } from '../../shared/contract/installations';
import { createCore, type Core } from '../core';
import { createInProcessClient } from '../contract/in-process';
import { startTwin } from '../contract/http-twin';
import { VERSION } from '../version';
import { followJob } from './jobs';
import { print, readStdin, reportError, table } from './output';
import { registerExtraCommands } from './extra-commands';
import { CommandOutcome, EXIT, type ExitCode } from './exit-codes';

/** Runs the `lifeboat` command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let core: Core | null = null;
  const outcome = new CommandOutcome();
  const getCore = async () => (core ??= await createCore());
  const program = new Command('lifeboat')
    .description('Pull self-hosted apps\' backups into an encrypted restic-format vault, preview them, restore them.')
    .version(VERSION)
    .option('--json', 'machine-readable output')
    .exitOverride();

  const json = () => Boolean(program.opts<{ json?: boolean }>().json);

  program
    .command('serve')
    .description('serve the Lifeboat UI (the browser twin) on 127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '0')
    .option('--open', 'open it in the default browser')
    .option('--no-open', 'do not open a browser')
    .action(async (opts: { port: string; open?: boolean }) => {
      const c = await getCore();
      const vault = await c.vault.status();
      if (!vault.initialized && c.secrets().status().kind === 'keychain') {
        await c.vault.init();
        process.stderr.write(`Created a local vault in ${c.home.vaultDir}; its password is in the keychain. Save the recovery kit from the Vault page.\n`);
      }
      const schedules = runSchedulesIfFree(c, 'lifeboat serve');
      const rendererDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
      const twin = await startTwin(c, { port: Number(opts.port), rendererDir });
      if (schedules) process.stderr.write(`${schedules}\n`);
      if (json()) process.stdout.write(`${JSON.stringify({ url: twin.url, port: twin.port, token: twin.token, home: c.home.root })}\n`);
      else process.stdout.write(`Lifeboat is running at ${twin.url}\nData directory: ${c.home.root}\nSecrets: ${c.secrets().status().description}\nPress Ctrl-C to stop.\n`);
      if (opts.open) openInBrowser(twin.url);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await twin.close();
    });

  program
    .command('info')
    .description('show the version, the data directory and which backend holds secrets')
    .action(async () => {
      const c = await getCore();
      const info = await createInProcessClient(c).call('system:info', {});
      print(info, json(), (i) => `Lifeboat ${i.version}\nData directory: ${i.home}\nSecrets: ${i.secrets.description}`);
    });

  const installations = program.command('installations').description('manage the installations Lifeboat backs up');

  installations
    .command('list')
    .description('list installations')
    .action(async () => {
      const c = await getCore();
      const list = await createInProcessClient(c).call('installations:list', {});
      print(list, json(), (items) =>
        items.length === 0
          ? `No installations yet. Add one with: lifeboat installations add --name NAME --app ${APP_MODULES.map((m) => m.kind).join('|')} --ssh-host HOST …\nSecrets are kept in: ${c.secrets().status().description}`
          : `${table([['NAME', 'APP', 'CONNECTION', 'TAGS', 'SECRETS'], ...items.map((i) => [i.name, i.app, describeConnection(i), i.tags.join(', ') || '-', i.secretPurposes.join(',') || '-'])])}\nSecrets are kept in: ${c.secrets().status().description}`,
      );
    });

  installations
    .command('add')
    .description('add an installation (secrets are read from stdin, never from arguments)')
    .requiredOption('--name <name>', 'a name you recognise, e.g. "office weavestream"')
    .addOption(new Option('--app <kind>', 'which app runs there').choices(APP_MODULES.map((m) => m.kind)).makeOptionMandatory())
    .option('--ssh-host <host>', 'SSH host name, address or ~/.ssh/config alias')
    .option('--ssh-port <port>', 'SSH port')
    .option('--ssh-user <user>', 'SSH user')
    .addOption(new Option('--ssh-auth <kind>', 'how to log in').choices(['agent', 'key', 'password']).default('agent'))
    .option('--ssh-key <file>', 'private key file (for --ssh-auth key)')
    .option('--jump-host <user@host:port>', 'bastion to connect through (ProxyJump)')
    .option('--https-url <url>', 'the app\'s base URL')
    .addOption(new Option('--https-auth <kind>', 'how to authenticate over HTTPS').choices(['none', 'bearer', 'password']).default('none'))
    .option('--https-user <user>', 'user name for --https-auth password')
    .option('--pin-cert <sha256>', 'pin the server certificate\'s SHA-256 (self-signed installs)')
    .option('--ca-file <pem>', 'trust this CA for the server certificate')
    .option('--setting <key=value...>', 'app setting, e.g. backupDir=/srv/app/backup (repeatable)')
    .option('--cadence-hours <hours>', 'expected hours between backups')
    .option('--tag <tag...>', 'a tag for grouping and filtering the fleet, e.g. "customer A" (repeatable)')
    .option('--secret-stdin <slot>', `read this secret from stdin: ${TRANSPORT_SECRET_SLOTS.join(', ')} or one of the app's (lifeboat apps)`)
    .action(async (opts: AddOptions) => {
      const c = await getCore();
      const input = await installationInputFrom(opts);
      const added = await createInProcessClient(c).call('installations:add', input);
      print(added, json(), (i) => `Added "${i.name}" (${i.app}, id ${i.id}).${i.secretPurposes.length ? ` Secret stored in: ${c.secrets().status().description}.` : ''}\nNext: lifeboat installations test "${i.name}"`);
    });

  installations
    .command('edit <name>')
    .description('change an installation; its id stays, so its snapshots stay linked (secrets are read from stdin, never from arguments)')
    .option('--rename <name>', 'a new name')
    .option('--ssh-host <host>', 'SSH host name, address or ~/.ssh/config alias')
    .option('--ssh-port <port>', 'SSH port')
    .option('--ssh-user <user>', 'SSH user')
    .addOption(new Option('--ssh-auth <kind>', 'how to log in').choices(['agent', 'key', 'password']))
    .option('--ssh-key <file>', 'private key file (for --ssh-auth key)')
    .option('--jump-host <user@host:port>', 'bastion to connect through (ProxyJump)')
    .option('--no-ssh', 'remove the SSH connection')
    .option('--https-url <url>', 'the app\'s base URL')
    .addOption(new Option('--https-auth <kind>', 'how to authenticate over HTTPS').choices(['none', 'bearer', 'password']))
    .option('--https-user <user>', 'user name for --https-auth password')
    .option('--pin-cert <sha256>', 'pin the server certificate\'s SHA-256')
    .option('--ca-file <pem>', 'trust this CA for the server certificate')
    .option('--no-https', 'remove the HTTPS connection')
    .option('--setting <key=value...>', 'set an app setting; key= (empty) removes it (repeatable)')
    .option('--cadence-hours <hours>', 'expected hours between backups')
    .option('--tag <tag...>', 'add a tag, e.g. "production" (repeatable)')
    .option('--untag <tag...>', 'remove a tag (repeatable; any case)')
    .option('--secret-stdin <slot>', `replace this secret, read from stdin: ${TRANSPORT_SECRET_SLOTS.join(', ')} or one of the app's`)
    .action(async (name: string, opts: EditOptions) => {
      const c = await getCore();
      const current = await c.registry.resolve(name);
      const changes = await editedInput(current, opts);
      const saved = await createInProcessClient(c).call('installations:update', { id: current.id, changes });
      print(saved, json(), (i) => `Saved "${i.name}" (${i.app}, id ${i.id}).`);
    });

  installations
    .command('remove <name>')
    .description('remove an installation and its stored secrets')
    .action(async (name: string) => {
      const c = await getCore();
      const found = await c.registry.resolve(name);
      await createInProcessClient(c).call('installations:remove', { id: found.id });
      print({ removed: found.name }, json(), () => `Removed "${found.name}" and its secrets.`);
    });

  installations
    .command('test <name>')
    .description('test the connection: reachability, latency, SSH host key or TLS certificate, app health')
    .option('--trust-fingerprint <fingerprint>', 'trust and pin this SSH host key (SHA256:…) or TLS certificate SHA-256 if the server presents it')
    .action(async (name: string, opts: { trustFingerprint?: string }) => {
      const c = await getCore();
      const client = createInProcessClient(c);
      let found = await c.registry.resolve(name);
      const run = async () => followJob<ConnectionTestReport>(c, (await client.call('installations:test', { id: found.id })).jobId, outcome);
      let report: ConnectionTestReport;
      try {
        report = await run();
      } catch (error) {
        const fingerprint = error instanceof LifeboatError ? (error.details?.fingerprint as string | undefined) : undefined;
        if (!(error instanceof LifeboatError) || !opts.trustFingerprint || fingerprint !== opts.trustFingerprint) {
          if (error instanceof LifeboatError && fingerprint && error.code !== 'SSH_HOST_KEY_CHANGED' && error.code !== 'TLS_PIN_MISMATCH') {
            process.stderr.write(`If you have checked this fingerprint with the server's administrator, run again with --trust-fingerprint '${fingerprint}'.\n`);
          }
          throw error;
        }
        found = error.code === 'SSH_HOST_KEY_UNKNOWN'
          ? await client.call('installations:trust-host-key', { id: found.id, fingerprint })
          : await client.call('installations:trust-certificate', { id: found.id, sha256: fingerprint });
        report = await run();
      }
      print(report, json(), (r) => [`Connection to "${found.name}": ${r.ok ? 'OK' : 'FAILED'}`, ...r.steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.name}: ${s.detail}`)].join('\n'));
      if (!report.ok) outcome.report(EXIT.failed);
    });

  registerExtraCommands(program, { getCore, json, outcome });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    const commanderError = error as { code?: string; exitCode?: number };
    if (commanderError.code?.startsWith('commander.')) {
      return commanderError.code === 'commander.helpDisplayed' || commanderError.code === 'commander.version' ? 0 : (commanderError.exitCode ?? 2);
    }
    outcome.report(reportError(error, json()) as ExitCode);
  } finally {
    if (core) await (core as Core).close();
  }
  return outcome.code;
}

interface AddOptions {
  name: string;
  app: string;
  sshHost?: string;
  sshPort?: string;
  sshUser?: string;
  sshAuth: 'agent' | 'key' | 'password';
  sshKey?: string;
  jumpHost?: string;
  httpsUrl?: string;
  httpsAuth: 'none' | 'bearer' | 'password';
  httpsUser?: string;
  pinCert?: string;
  caFile?: string;
  setting?: string[];
  cadenceHours?: string;
  tag?: string[];
  secretStdin?: SecretPurpose;
}

interface EditOptions extends Omit<Partial<AddOptions>, 'name' | 'app'> {
  rename?: string;
  untag?: string[];
  /** False with --no-ssh / --no-https. */
  ssh?: boolean;
  https?: boolean;
}

/** key=value pairs of --setting; INVALID_INPUT names one without a key. */
function settingPairs(pairs: string[] | undefined): [string, string][] {
  return (pairs ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new LifeboatError('INVALID_INPUT', `--setting "${pair}" must look like key=value.`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

async function secretFromStdin(slot: string | undefined): Promise<Record<string, string> | undefined> {
  if (!slot) return undefined;
  const secret = await readStdin();
  if (!secret) throw new LifeboatError('INVALID_INPUT', `--secret-stdin ${slot} was given but stdin was empty.`);
  return { [slot]: secret };
}

/** The installation with the edit's changes applied; what is not mentioned stays as it is. */
async function editedInput(current: Installation, opts: EditOptions): Promise<InstallationInput> {
  const settings: Record<string, string | number | boolean> = { ...current.settings };
  for (const [key, value] of settingPairs(opts.setting)) {
    if (value === '') delete settings[key];
    else settings[key] = value;
  }
  const ssh = opts.ssh === false ? undefined : opts.sshHost || current.ssh ? {
    ...current.ssh,
    host: opts.sshHost ?? current.ssh!.host,
    auth: opts.sshAuth ?? current.ssh?.auth ?? 'agent',
    ...(opts.sshPort ? { port: Number(opts.sshPort) } : {}),
    ...(opts.sshUser ? { user: opts.sshUser } : {}),
    ...(opts.sshKey ? { keyFile: path.resolve(opts.sshKey) } : {}),
    ...(opts.jumpHost ? { jumpHost: opts.jumpHost } : {}),
  } : undefined;
  const https = opts.https === false ? undefined : opts.httpsUrl || current.https ? {
    ...current.https,
    baseUrl: opts.httpsUrl ?? current.https!.baseUrl,
    auth: opts.httpsAuth ?? current.https?.auth ?? 'none',
    ...(opts.httpsUser ? { username: opts.httpsUser } : {}),
    ...(opts.pinCert ? { pinnedCertSha256: opts.pinCert } : {}),
    ...(opts.caFile ? { caFile: path.resolve(opts.caFile) } : {}),
  } : undefined;
  const secrets = await secretFromStdin(opts.secretStdin);
  return {
    name: opts.rename ?? current.name,
    app: current.app,
    settings,
    ...(ssh ? { ssh } : {}),
    ...(https ? { https } : {}),
    ...(opts.cadenceHours ? { expectedCadenceHours: Number(opts.cadenceHours) } : current.expectedCadenceHours !== undefined ? { expectedCadenceHours: current.expectedCadenceHours } : {}),
    tags: editedTags(current.tags, opts),
    ...(secrets ? { secrets } : {}),
  };
}

/** The current tags with --untag's removed (any case) and --tag's added. */
function editedTags(current: readonly string[], opts: Pick<EditOptions, 'tag' | 'untag'>): string[] {
  const removed = new Set((opts.untag ?? []).map((t) => t.trim().toLowerCase()));
  return normalizeTags([...current.filter((t) => !removed.has(t.toLowerCase())), ...(opts.tag ?? [])]);
}

async function installationInputFrom(opts: AddOptions): Promise<InstallationInput> {
  const settings = Object.fromEntries(settingPairs(opts.setting));
  const input: InstallationInput = { name: opts.name, app: opts.app, settings, ...(opts.tag ? { tags: normalizeTags(opts.tag) } : {}) };
  if (opts.sshHost) {
    input.ssh = {
      host: opts.sshHost,
      auth: opts.sshAuth,
      ...(opts.sshPort ? { port: Number(opts.sshPort) } : {}),
      ...(opts.sshUser ? { user: opts.sshUser } : {}),
      ...(opts.sshKey ? { keyFile: path.resolve(opts.sshKey) } : {}),
      ...(opts.jumpHost ? { jumpHost: opts.jumpHost } : {}),
    };
  }
  if (opts.httpsUrl) {
    input.https = {
      baseUrl: opts.httpsUrl,
      auth: opts.httpsAuth,
      ...(opts.httpsUser ? { username: opts.httpsUser } : {}),
      ...(opts.pinCert ? { pinnedCertSha256: opts.pinCert } : {}),
      ...(opts.caFile ? { caFile: path.resolve(opts.caFile) } : {}),
    };
  }
  if (opts.cadenceHours) input.expectedCadenceHours = Number(opts.cadenceHours);
  const secrets = await secretFromStdin(opts.secretStdin);
  if (secrets) input.secrets = secrets;
  return input;
}

function describeConnection(i: { ssh?: { host: string; port?: number | undefined; user?: string | undefined } | undefined; https?: { baseUrl: string } | undefined }): string {
  const parts: string[] = [];
  if (i.ssh) parts.push(`ssh ${i.ssh.user ? `${i.ssh.user}@` : ''}${i.ssh.host}${i.ssh.port ? `:${i.ssh.port}` : ''}`);
  if (i.https) parts.push(i.https.baseUrl);
  return parts.join(' + ');
}

/** Serve runs the schedules unless another process (a daemon) does; then it says so and only serves. */
function runSchedulesIfFree(core: Core, command: string): string | null {
  try {
    core.unattended.run(command);
    return null;
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'ALREADY_EXISTS') return `Schedules are not run by this process: ${error.message}`;
    throw error;
  }
}

function openInBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stdout.write(`(Could not start a browser; open the address above yourself.)\n`));
  child.unref();
}
