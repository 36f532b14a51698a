/**
 * Opening an SSH connection the way OpenSSH would (ssh_config aliases, ProxyJump, known_hosts,
 * agent, identity files), but failing closed on host identity: a key that is neither pinned,
 * nor in known_hosts, nor explicitly trusted for this call is refused with its fingerprint.
 */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
// ssh2 is CommonJS: Node's ESM loader exposes it only as a default export.
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, Client, ConnectConfig, ParsedKey } from 'ssh2';
import { LifeboatError } from '../../../shared/errors';
import type { SshConnection } from '../../../shared/installations';
import { cancelledError, throwIfAborted } from './abort';
import { KnownHosts, describeHostKey } from './known-hosts';
import type { HostKeyIdentity } from './known-hosts';
import { DEFAULT_SSH_IDLE_TIMEOUT_MS, KEEPALIVES_PER_IDLE_TIMEOUT, SshSession } from './session';
import type { ConnectedHost, HostKeyTrust } from './session';
import { SshConfig, localUserName } from './ssh-config';
import type { ResolvedSshConfig } from './ssh-config';
import { openForward } from './tunnel';

/** Options of {@link connectSsh}. */
export interface ConnectSshOptions {
  secrets?: { password?: string; passphrase?: string };
  /** Whose ~/.ssh to read (config, known_hosts, default keys); default os.homedir(). */
  homeDir?: string;
  /** known_hosts files to trust; default the config's UserKnownHostsFile or ~/.ssh/known_hosts(2) and /etc/ssh/ssh_known_hosts(2). */
  knownHostsFiles?: string[];
  /** ssh_config file; default <homeDir>/.ssh/config; null reads none. */
  sshConfigFile?: string | null;
  /** ssh-agent socket; default the config's IdentityAgent or $SSH_AUTH_SOCK. */
  agentSocket?: string;
  signal?: AbortSignal;
  /** Accept an unknown target host key with exactly this fingerprint (the operator just confirmed it). */
  trustFingerprint?: string;
  /** Fingerprints accepted for jump hosts that are not in known_hosts. */
  jumpHostKeys?: string[];
  /** SSH keepalive period; default the config's ServerAliveInterval or 15 s. */
  keepaliveIntervalMs?: number;
}

interface Hop {
  host: string;
  port: number;
  user: string;
  /** Name and port the host key is filed under in known_hosts (HostKeyAlias or host). */
  keyName: { host: string; port: number };
  config: ResolvedSshConfig;
}

interface HopResult {
  client: Client;
  host: ConnectedHost;
  serverIdent: string;
  authBanner: string | null;
}

type HostKeyDecision = { ok: true; identity: HostKeyIdentity; trustedBy: HostKeyTrust } | { ok: false; error: LifeboatError };

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_KEEPALIVE_MS = 15_000;
const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Connects and authenticates; throws a LifeboatError with an SSH_* code naming what failed. */
export async function connectSsh(conn: SshConnection, options: ConnectSshOptions = {}): Promise<SshSession> {
  throwIfAborted(options.signal, `Connecting to ${conn.host} was cancelled.`);
  const homeDir = options.homeDir ?? os.homedir();
  const config =
    options.sshConfigFile === null ? SshConfig.parse('', { homeDir }) : SshConfig.load(options.sshConfigFile ?? path.join(homeDir, '.ssh', 'config'), { homeDir });
  const target = resolveHop(config, conn.host, conn.user, conn.port);
  const jumpSpec = conn.jumpHost ?? target.config.proxyJump;
  if (target.config.proxyCommand && jumpSpec === undefined) {
    throw new LifeboatError('SSH_CONFIG', `The ssh config gives ${conn.host} a ProxyCommand, which Lifeboat does not run; use ProxyJump instead.`);
  }
  const jumps = parseJumpList(jumpSpec).map((j) => resolveHop(config, j.host, j.user, j.port));
  const knownHosts = await KnownHosts.load(options.knownHostsFiles ?? target.config.userKnownHostsFiles ?? defaultKnownHostsFiles(homeDir));
  // Before any network traffic: a missing password or passphrase is reported at once.
  const targetAuth = await targetAuthMethods(target, conn, options);

  const connected: HopResult[] = [];
  try {
    let sock: Duplex | undefined;
    for (const [index, hop] of jumps.entries()) {
      const auth = await jumpAuthMethods(hop, conn, options);
      const policy: HostKeyPolicy = { acceptUnknown: options.jumpHostKeys ?? [], acceptedAs: 'pinned', hop: 'jump' };
      const verify = (blob: Buffer): HostKeyDecision => verifyHostKey(hop, blob, knownHosts, policy);
      const result = await connectHop(hop, auth, verify, knownHosts, { sock, signal: options.signal, conn, options, role: 'jump host' });
      connected.push(result);
      const next = jumps[index + 1] ?? target;
      sock = await openForward(result.client, next.host, next.port).catch((error: unknown) => {
        throw hopError(error, `The jump host ${label(hop)} could not reach ${next.host}:${next.port}`);
      });
    }
    const policy: HostKeyPolicy = {
      pinned: conn.hostKeySha256,
      acceptUnknown: options.trustFingerprint ? [options.trustFingerprint] : [],
      acceptedAs: 'trusted-now',
      hop: 'target',
    };
    const verify = (blob: Buffer): HostKeyDecision => verifyHostKey(target, blob, knownHosts, policy);
    const result = await connectHop(target, targetAuth, verify, knownHosts, { sock, signal: options.signal, conn, options, role: 'server' });
    return new SshSession(
      result.client,
      { target: result.host, serverIdent: result.serverIdent, authBanner: result.authBanner, jumpHosts: connected.map((c) => c.host) },
      connected.map((c) => c.client).reverse(),
      conn.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: conn.idleTimeoutMs },
    );
  } catch (error) {
    for (const c of connected.reverse()) c.client.destroy();
    throw error;
  }
}

function resolveHop(config: SshConfig, alias: string, user: string | undefined, port: number | undefined): Hop {
  const resolved = config.resolve(alias, { ...(user ? { user } : {}), ...(port ? { port } : {}) });
  const finalPort = resolved.port ?? 22;
  return {
    host: resolved.hostName,
    port: finalPort,
    user: resolved.user ?? localUserName(),
    // OpenSSH files a HostKeyAlias without the port.
    keyName: resolved.hostKeyAlias ? { host: resolved.hostKeyAlias, port: 22 } : { host: resolved.hostName, port: finalPort },
    config: resolved,
  };
}

/** Parses ProxyJump: `[user@]host[:port]` hops separated by commas (ssh:// URIs allowed). */
export function parseJumpList(spec: string | undefined): Array<{ host: string; user?: string; port?: number }> {
  if (spec === undefined || spec.trim() === '' || spec.trim().toLowerCase() === 'none') return [];
  return spec.split(',').map((raw) => {
    const text = raw.trim().replace(/^ssh:\/\//i, '');
    const at = text.lastIndexOf('@');
    const user = at >= 0 ? text.slice(0, at) : undefined;
    const hostPort = at >= 0 ? text.slice(at + 1) : text;
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort) ?? /^([^:]+)(?::(\d+))?$/.exec(hostPort);
    if (!m?.[1] || (user !== undefined && user === '')) {
      throw new LifeboatError('SSH_CONFIG', `The jump host "${raw.trim()}" is not [user@]host[:port].`);
    }
    const port = m[2] === undefined ? undefined : Number(m[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new LifeboatError('SSH_CONFIG', `The jump host "${raw.trim()}" has an invalid port.`);
    return { host: m[1], ...(user ? { user } : {}), ...(port ? { port } : {}) };
  });
}

interface HostKeyPolicy {
  /** The installation's pinned fingerprint: nothing else is accepted. */
  pinned?: string | undefined;
  /** Fingerprints accepted for a host absent from known_hosts, and how they count. */
  acceptUnknown: string[];
  acceptedAs: HostKeyTrust;
  hop: 'target' | 'jump';
}

/** Pin first, then known_hosts, then an explicit trust of an unknown key; everything else fails closed. */
function verifyHostKey(hop: Hop, blob: Buffer, knownHosts: KnownHosts, policy: HostKeyPolicy): HostKeyDecision {
  const identity = describeHostKey(blob);
  const where = `${hop.host}:${hop.port}`;
  if (policy.pinned !== undefined) {
    if (sameFingerprint(policy.pinned, identity.fingerprint)) return { ok: true, identity, trustedBy: 'pinned' };
    return { ok: false, error: changedError(where, [policy.pinned], identity, 'pinned', policy.hop) };
  }
  const verdict = knownHosts.verify(hop.keyName.host, hop.keyName.port, blob);
  switch (verdict.status) {
    case 'match':
      return { ok: true, identity, trustedBy: 'known-hosts' };
    case 'revoked':
      return { ok: false, error: revokedError(where, identity, verdict.entry.source, policy.hop) };
    case 'mismatch':
      return { ok: false, error: changedError(where, verdict.known.map((e) => describeHostKey(e.keyBlob).fingerprint), identity, 'known_hosts', policy.hop) };
    case 'unknown':
      if (policy.acceptUnknown.some((fp) => sameFingerprint(fp, identity.fingerprint))) return { ok: true, identity, trustedBy: policy.acceptedAs };
      return { ok: false, error: unknownError(where, identity, policy.hop) };
  }
}

function sameFingerprint(a: string, b: string): boolean {
  return a.trim().replace(/=+$/, '') === b;
}

function unknownError(where: string, identity: HostKeyIdentity, hop: 'target' | 'jump'): LifeboatError {
  const what = hop === 'jump' ? 'jump host' : 'server';
  return new LifeboatError(
    'SSH_HOST_KEY_UNKNOWN',
    `The ${what} ${where} is not known yet. Its ${identity.algorithm} host key has the fingerprint ${identity.fingerprint}; trust it only if that matches what the server's administrator sees (ssh-keygen -lf on the host key).`,
    { details: { fingerprint: identity.fingerprint, algorithm: identity.algorithm, host: where, hop } },
  );
}

function changedError(where: string, expected: string[], identity: HostKeyIdentity, source: 'pinned' | 'known_hosts', hop: 'target' | 'jump'): LifeboatError {
  const what = hop === 'jump' ? 'jump host' : 'server';
  return new LifeboatError(
    'SSH_HOST_KEY_CHANGED',
    `The host key of the ${what} ${where} has CHANGED: expected ${expected.join(' or ')} (${source === 'pinned' ? 'pinned' : 'from known_hosts'}), but it presented ${identity.fingerprint} (${identity.algorithm}). Someone may be intercepting the connection, or the server was reinstalled; Lifeboat will not connect until the new key is checked and trusted.`,
    { details: { expected: expected[0], expectedAll: expected, presented: identity.fingerprint, fingerprint: identity.fingerprint, algorithm: identity.algorithm, source, host: where, hop } },
  );
}

function revokedError(where: string, identity: HostKeyIdentity, source: string, hop: 'target' | 'jump'): LifeboatError {
  return new LifeboatError('SSH_HOST_KEY_CHANGED', `The host key ${identity.fingerprint} presented by ${where} is marked @revoked in ${source}; refusing to connect.`, {
    details: { presented: identity.fingerprint, fingerprint: identity.fingerprint, algorithm: identity.algorithm, source, host: where, hop, revoked: true },
  });
}

interface HopContext {
  sock: Duplex | undefined;
  signal: AbortSignal | undefined;
  conn: SshConnection;
  options: ConnectSshOptions;
  role: 'server' | 'jump host';
}

function connectHop(hop: Hop, auth: AnyAuthMethod[], verify: (blob: Buffer) => HostKeyDecision, knownHosts: KnownHosts, ctx: HopContext): Promise<HopResult> {
  throwIfAborted(ctx.signal, `Connecting to ${label(hop)} was cancelled.`);
  const readyTimeout = ctx.conn.connectTimeoutMs ?? (hop.config.connectTimeoutSec ? hop.config.connectTimeoutSec * 1000 : DEFAULT_READY_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKeyFailure: LifeboatError | null = null;
    let accepted: (HostKeyDecision & { ok: true }) | null = null;
    let authBanner: string | null = null;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      ctx.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (error: LifeboatError): void => {
      if (!settle()) return;
      client.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(cancelledError(`Connecting to ${label(hop)} was cancelled.`));
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('banner', (message: string) => {
      authBanner = message;
    });
    client.on('ready', () => {
      if (!settle()) return;
      // Without this Nagle's algorithm stalls SFTP's many small requests (1–3 MiB/s instead of 200+).
      client.setNoDelay(true);
      const identity = accepted as HostKeyDecision & { ok: true };
      resolve({
        client,
        host: { host: hop.host, port: hop.port, user: hop.user, fingerprint: identity.identity.fingerprint, algorithm: identity.identity.algorithm, trustedBy: identity.trustedBy },
        serverIdent: serverIdent(client),
        authBanner,
      });
    });
    client.on('error', (error: Error) => fail(hostKeyFailure ?? mapConnectError(error, hop, readyTimeout, ctx.role)));
    client.on('close', () => fail(hostKeyFailure ?? new LifeboatError('SSH_CHANNEL', `The ${ctx.role} ${label(hop)} closed the connection during the handshake.`)));

    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.user,
      readyTimeout,
      ...keepalive(ctx.options.keepaliveIntervalMs ?? (hop.config.serverAliveIntervalSec ? hop.config.serverAliveIntervalSec * 1000 : DEFAULT_KEEPALIVE_MS), hop.config.serverAliveCountMax ?? 3, ctx.conn.idleTimeoutMs ?? DEFAULT_SSH_IDLE_TIMEOUT_MS),
      hostVerifier: (key: Buffer): boolean => {
        const decision = verify(key);
        if (decision.ok) {
          accepted = decision;
          return true;
        }
        hostKeyFailure = decision.error;
        return false;
      },
      authHandler: authHandlerFor(auth),
      ...(ctx.sock ? { sock: ctx.sock } : {}),
    };
    const preferred = preferredHostKeyAlgorithms(knownHosts, hop);
    // Ask for the key types known_hosts holds first, as OpenSSH does, so a host that also has
    // other key types is not reported as changed.
    if (preferred.length > 0) config.algorithms = { serverHostKey: { remove: preferred, prepend: preferred } as never };
    try {
      client.connect(config);
    } catch (error) {
      fail(new LifeboatError('SSH_CONFIG', `Cannot connect to ${label(hop)}: ${(error as Error).message}`, { cause: error }));
    }
  });
}

/**
 * ssh2's keepalive settings. The period is the configured one, but at most a third of the idle
 * timeout: a remote command may be silent for long (pg_restore building an index), and its
 * connection shows it is alive by answering keepalives, which the idle watch hears (idle.ts).
 * ssh2 itself gives a connection up after `keepaliveCountMax` unanswered keepalives — answers,
 * not bytes, and an answer waits behind the data queued before it (up to the 4 MiB of read-ahead
 * on a slow link), so the count is raised to keep the configured time (interval × count) and at
 * least four idle timeouts: the idle watch (any byte, while something waits) is what ends a
 * stalled transfer; ssh2's count only ends a connection that died while nothing waited.
 */
function keepalive(intervalMs: number, countMax: number, idleTimeoutMs: number): { keepaliveInterval: number; keepaliveCountMax: number } {
  const most = Math.ceil(idleTimeoutMs / KEEPALIVES_PER_IDLE_TIMEOUT);
  const keepaliveInterval = intervalMs > 0 ? Math.min(intervalMs, most) : most;
  const giveUpAfterMs = Math.max(intervalMs * countMax, 4 * idleTimeoutMs);
  return { keepaliveInterval, keepaliveCountMax: Math.max(countMax, Math.ceil(giveUpAfterMs / keepaliveInterval)) };
}

/** Tries the methods in order, skipping those the server does not offer (each try counts against MaxAuthTries). */
function authHandlerFor(methods: AnyAuthMethod[]): AuthHandlerMiddleware {
  let next = 0;
  return (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, callback) => {
    while (next < methods.length) {
      const method = methods[next++] as AnyAuthMethod;
      const kind: AuthenticationType = method.type === 'agent' ? 'publickey' : method.type;
      if (!methodsLeft || methodsLeft.includes(kind)) {
        callback(method);
        return;
      }
    }
    callback(false as never);
  };
}

function preferredHostKeyAlgorithms(knownHosts: KnownHosts, hop: Hop): string[] {
  const types = new Set(knownHosts.lookup(hop.keyName.host, hop.keyName.port).map((e) => e.keyType));
  const out: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (t === 'ssh-ed25519' || t.startsWith('ecdsa-sha2-')) out.push(t);
  }
  return out;
}

function mapConnectError(error: Error, hop: Hop, readyTimeoutMs: number, role: string): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const e = error as Error & { level?: string; code?: string };
  const where = label(hop);
  const details = { host: hop.host, port: hop.port, user: hop.user };
  if (e.level === 'client-authentication') {
    return new LifeboatError('SSH_AUTH_FAILED', `The ${role} ${where} refused the login for user "${hop.user}". Check the user name and the key, password or agent.`, { details, cause: error });
  }
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT') {
    return new LifeboatError('SSH_TIMEOUT', `No answer from the ${role} ${where} within ${Math.round(readyTimeoutMs / 1000)} s.`, { details, cause: error });
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return new LifeboatError('SSH_CONNECTION_REFUSED', `The ${role} ${hop.host} refused a connection on port ${hop.port}: is sshd running and is the port right?`, { details, cause: error });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new LifeboatError('SSH_CONNECTION_REFUSED', `The ${role} ${hop.host} cannot be reached from here (${e.code}).`, { details, cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new LifeboatError('SSH_DNS', `The host name "${hop.host}" could not be resolved (${e.code}).`, { details, cause: error });
  }
  if (e.level === 'client-dns') return new LifeboatError('SSH_DNS', `The host name "${hop.host}" could not be resolved.`, { details, cause: error });
  return new LifeboatError('SSH_CHANNEL', `The SSH connection to ${where} failed: ${error.message}`, { details, cause: error });
}

function hopError(error: unknown, prefix: string): LifeboatError {
  if (error instanceof LifeboatError) return new LifeboatError(error.code, `${prefix}: ${error.message}`, { ...(error.details ? { details: error.details } : {}), cause: error });
  return new LifeboatError('SSH_CHANNEL', `${prefix}: ${String(error)}`, { cause: error });
}

async function targetAuthMethods(hop: Hop, conn: SshConnection, options: ConnectSshOptions): Promise<AnyAuthMethod[]> {
  const username = hop.user;
  switch (conn.auth) {
    case 'password': {
      const password = options.secrets?.password;
      if (!password) throw new LifeboatError('SECRET_REQUIRED', `A password is needed to log in to ${label(hop)}.`, { details: { purpose: 'ssh-password' } });
      return [
        { type: 'password', username, password },
        // Servers with only keyboard-interactive (PAM) ask for the same password that way.
        { type: 'keyboard-interactive', username, prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)) },
      ];
    }
    case 'key': {
      const explicit = conn.keyFile !== undefined;
      const files = explicit ? [expandHome(conn.keyFile as string, options.homeDir)] : identityFiles(hop, options.homeDir);
      const methods: AnyAuthMethod[] = [];
      for (const file of files) {
        const key = await loadPrivateKey(file, options.secrets?.passphrase, explicit);
        if (key) methods.push({ type: 'publickey', username, key });
      }
      if (methods.length === 0) {
        throw new LifeboatError('SSH_CONFIG', `No usable private key for ${label(hop)}: looked for ${files.join(', ')}.`, { details: { keyFiles: files } });
      }
      return methods;
    }
    case 'agent': {
      const agent = await agentSocket(hop, options);
      if (!agent) throw new LifeboatError('SSH_CONFIG', `No SSH agent is running (SSH_AUTH_SOCK is not set), so agent login to ${label(hop)} is impossible.`);
      return [{ type: 'agent', username, agent }, ...(await quietKeys(hop.config.identityFiles, username))];
    }
  }
}

/** Jump hosts log in with the agent and keys only: the target's password never goes to another host. */
async function jumpAuthMethods(hop: Hop, conn: SshConnection, options: ConnectSshOptions): Promise<AnyAuthMethod[]> {
  const methods: AnyAuthMethod[] = [];
  const agent = await agentSocket(hop, options);
  if (agent) methods.push({ type: 'agent', username: hop.user, agent });
  if (conn.auth === 'key' && conn.keyFile) {
    const key = await loadPrivateKey(expandHome(conn.keyFile, options.homeDir), options.secrets?.passphrase, true);
    if (key) methods.push({ type: 'publickey', username: hop.user, key });
  }
  methods.push(...(await quietKeys(identityFiles(hop, options.homeDir), hop.user)));
  if (methods.length === 0) throw new LifeboatError('SSH_CONFIG', `No agent and no key to log in to the jump host ${label(hop)}.`);
  return methods;
}

async function quietKeys(files: string[], username: string): Promise<AnyAuthMethod[]> {
  const out: AnyAuthMethod[] = [];
  for (const file of files) {
    const key = await loadPrivateKey(file, undefined, false);
    if (key) out.push({ type: 'publickey', username, key });
  }
  return out;
}

function identityFiles(hop: Hop, homeDir: string | undefined): string[] {
  if (hop.config.identityFiles.length > 0) return hop.config.identityFiles;
  const home = homeDir ?? os.homedir();
  return DEFAULT_KEY_FILES.map((f) => path.join(home, '.ssh', f));
}

/**
 * Reads and decrypts a private key. With `explicit` (the installation names this file) every
 * problem is an error; otherwise (default or config keys) unusable keys are skipped, as ssh does
 * when it cannot prompt.
 */
async function loadPrivateKey(file: string, passphrase: string | undefined, explicit: boolean): Promise<ParsedKey | null> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LifeboatError('SSH_CONFIG', `Cannot read the key file ${file}: ${(error as Error).message}`, { details: { keyFile: file }, cause: error });
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    if (!explicit) return null;
    if (/no passphrase given/i.test(parsed.message)) {
      throw new LifeboatError('SECRET_REQUIRED', `The key file ${file} is encrypted: its passphrase is needed.`, { details: { purpose: 'ssh-key-passphrase', keyFile: file } });
    }
    if (/bad passphrase|decrypt/i.test(parsed.message)) {
      throw new LifeboatError('SSH_AUTH_FAILED', `The passphrase for the key file ${file} is wrong.`, { details: { keyFile: file } });
    }
    throw new LifeboatError('SSH_CONFIG', `The key file ${file} is not a private key Lifeboat can read: ${parsed.message}`, { details: { keyFile: file } });
  }
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
  if (!key.isPrivateKey()) {
    if (!explicit) return null;
    throw new LifeboatError('SSH_CONFIG', `The key file ${file} holds a public key; choose the private key (without .pub).`, { details: { keyFile: file } });
  }
  return key;
}

async function agentSocket(hop: Hop, options: ConnectSshOptions): Promise<string | undefined> {
  const fromConfig = hop.config.identityAgent;
  if (options.agentSocket === undefined && fromConfig === 'none') return undefined;
  const socket = options.agentSocket ?? (fromConfig && fromConfig !== 'SSH_AUTH_SOCK' ? fromConfig : process.env.SSH_AUTH_SOCK);
  if (!socket) return undefined;
  try {
    await stat(socket);
  } catch (error) {
    throw new LifeboatError('SSH_CONFIG', `The SSH agent socket ${socket} does not exist; is ssh-agent running?`, { cause: error });
  }
  return socket;
}

function defaultKnownHostsFiles(homeDir: string): string[] {
  return [
    path.join(homeDir, '.ssh', 'known_hosts'),
    path.join(homeDir, '.ssh', 'known_hosts2'),
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ];
}

function expandHome(file: string, homeDir: string | undefined): string {
  if (file === '~' || file.startsWith('~/')) return path.join(homeDir ?? os.homedir(), file.slice(1));
  return file;
}

function label(hop: Hop): string {
  return `${hop.user}@${hop.host}:${hop.port}`;
}

/** The server's full identification line; ssh2 keeps it only on its protocol object. */
function serverIdent(client: Client): string {
  const internals = client as unknown as { _protocol?: { _remoteIdentRaw?: Buffer }; _remoteVer?: string };
  const raw = internals._protocol?._remoteIdentRaw;
  return raw ? raw.toString('latin1').trim() : `SSH-2.0-${internals._remoteVer ?? 'unknown'}`;
}
