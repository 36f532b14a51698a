// A real OpenSSH sshd on 127.0.0.1 for integration tests: its own port, host key, authorized keys
// and temp dir, so several test files (vitest workers) can each run one at the same time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { testSecret } from './secrets';
import { checkLoginUser, createPasswordUser, deletePasswordUser, insideTestWorker, prepareTestUsers } from './test-users';
import type { Account } from './test-users';
import { runTool } from './tools';

export { runTool };

/** Options of {@link startSshd}. */
export interface SshdOptions {
  /**
   * System users allowed to log in with the test key, from TEST_LOGIN_USERS (test/harness/test-users.ts).
   * Under vitest the global setup has created them; a standalone script (bench, fleet) creates them here.
   * Default ['lifeboat-fleet'].
   */
  users?: string[];
  /** Also allow passwords: a throwaway user with a random password is made for this server. */
  passwordAuth?: boolean;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

/** A running test sshd. */
export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** `ssh-keygen -lf` of the current host key: `SHA256:…`. */
  hostKeyFingerprint: string;
  /** The current host public key line (`ssh-ed25519 AAAA… comment`). */
  hostPublicKey: string;
  /** Private ed25519 key (no passphrase) authorized for every user of this server. */
  clientKeyPath: string;
  /** The user to log in as: the password user when passwordAuth is on, else users[0]. */
  user: string;
  password?: string;
  /** That user's home directory on this machine (the server's view of `~`). */
  homeDir: string;
  /** The server's private temp dir (config, keys, pid file). */
  dir: string;
  /** sshd's "Accepted <method> for <user> …" lines, one per login, in order (which credential each connection used). */
  readonly accepted: string[];
  /** Restarts on the same port with a new host key; returns its fingerprint. */
  rotateHostKey(): Promise<string>;
  /**
   * SIGKILLs the listener and every sshd process under it (each connection's session processes),
   * as an OOM kill or `pkill -9 sshd` would: open connections drop at once and new ones are
   * refused until {@link restart}. The users' commands are not signalled: they see their pipes close.
   * The signals are sent before it returns (so a test can kill sshd inside an event handler,
   * before the code under test goes on); the promise resolves, with how many sshd processes were
   * killed, once the listener has exited.
   */
  crash(): Promise<number>;
  /** Starts again after {@link crash}, on the same port with the same host key. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `ssh-keygen -lf` of a public key file, the oracle every fingerprint is checked against. */
export async function sshKeygenFingerprint(pubFile: string): Promise<string> {
  const out = await runTool('ssh-keygen', ['-lf', pubFile]);
  const m = /(SHA256:[A-Za-z0-9+/]+)/.exec(out);
  if (!m?.[1]) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return m[1];
}

/** Starts sshd; stop it in afterAll. */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  await mkdir('/run/sshd', { recursive: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sshd-'));
  // sshd reads authorized keys as the logging-in user, so the directory must be traversable.
  await chmod(dir, 0o755);
  const authorizedDir = path.join(dir, 'authorized');
  await mkdir(authorizedDir, { mode: 0o755 });
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKeyPath = path.join(dir, 'client_ed25519');
  await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test-host', '-f', hostKey]);
  await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test-client', '-f', clientKeyPath]);
  const clientPub = await readFile(`${clientKeyPath}.pub`, 'utf8');

  const users = options.users ?? ['lifeboat-fleet'];
  // Workers never run useradd or userdel for a shared name: two of them doing so at once once left
  // the home owned by the uid of a user that was then made again.
  if (!insideTestWorker()) await prepareTestUsers(users);
  const accounts: Account[] = [];
  for (const u of users) accounts.push(await checkLoginUser(u));
  let password: string | undefined;
  let passwordUser: string | undefined;
  if (options.passwordAuth) {
    password = testSecret('sshpw');
    const made = await createPasswordUser(password);
    passwordUser = made.name;
    accounts.unshift(made);
  }
  const allowed = passwordUser ? [...users, passwordUser] : users;
  for (const u of allowed) await writeFile(path.join(authorizedDir, u), clientPub, { mode: 0o644 });
  const { name: user, home: homeDir } = accounts[0] as Account;

  const configFile = path.join(dir, 'sshd_config');
  const writeConfig = (port: number): Promise<void> =>
    writeFile(
      configFile,
      [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorizedDir}/%u`,
        'StrictModes no',
        // PAM lets useradd'ed users with a locked password log in with a key.
        'UsePAM yes',
        `PasswordAuthentication ${options.passwordAuth ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PermitRootLogin no',
        `AllowUsers ${allowed.join(' ')}`,
        'AllowTcpForwarding local',
        'X11Forwarding no',
        'PrintMotd no',
        'MaxStartups 64',
        'MaxSessions 32',
        'Subsystem sftp internal-sftp',
        ...(options.extraConfig ?? []),
        '',
      ].join('\n'),
    );

  let child: ChildProcess | null = null;
  let port = 0;
  const accepted: string[] = [];
  const launch = async (fixedPort?: number): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      port = fixedPort ?? (await freePort());
      await writeConfig(port);
      try {
        child = await spawnSshd(configFile, port, accepted);
        return;
      } catch (error) {
        // Another worker may have taken the port between the probe and sshd's bind.
        if (attempt >= 4 || !String(error).includes('Address already in use')) throw error;
        await sleep(100 * (attempt + 1));
      }
    }
  };
  const halt = async (): Promise<void> => {
    const running = child;
    child = null;
    if (running && running.exitCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
  };

  try {
    await launch();
  } catch (error) {
    if (passwordUser) await deletePasswordUser(passwordUser);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const server: TestSshd = {
    host: '127.0.0.1',
    port,
    hostKeyFingerprint: await sshKeygenFingerprint(`${hostKey}.pub`),
    hostPublicKey: (await readFile(`${hostKey}.pub`, 'utf8')).trim(),
    clientKeyPath,
    user,
    ...(password ? { password } : {}),
    homeDir,
    dir,
    accepted,
    async rotateHostKey() {
      await halt();
      await rm(hostKey, { force: true });
      await rm(`${hostKey}.pub`, { force: true });
      await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test-host-rotated', '-f', hostKey]);
      await launch(server.port);
      server.hostKeyFingerprint = await sshKeygenFingerprint(`${hostKey}.pub`);
      server.hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim();
      return server.hostKeyFingerprint;
    },
    crash() {
      const running = child;
      if (!running?.pid || running.exitCode !== null) return Promise.reject(new Error('sshd is not running'));
      child = null;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      const sessions = sshdDescendants(running.pid);
      for (const pid of [running.pid, ...sessions]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone: a session that ended on its own.
        }
      }
      return exited.then(() => 1 + sessions.length);
    },
    async restart() {
      if (child) throw new Error('sshd is running');
      await launch(server.port);
    },
    async stop() {
      await halt();
      if (passwordUser) await deletePasswordUser(passwordUser);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function spawnSshd(configFile: string, port: number, accepted: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`sshd did not start listening on port ${port} within 30 s: ${log}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        // Keep draining stderr (one line per login) so the pipe never fills and blocks sshd, keeping the logins.
        child.stderr?.off('data', onData);
        let partial = '';
        child.stderr?.on('data', (more: Buffer) => {
          const lines = (partial + more.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('Accepted ')) accepted.push(line.trim());
        });
        resolve(child);
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with code ${code} before listening: ${log}`));
    });
  });
}

/** The pids of the sshd processes descended from `root` (read from /proc: parent pid and command name). */
function sshdDescendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid …": the command name may hold spaces, so split after its last ')'.
    const close = stat.lastIndexOf(')');
    if (close === -1 || stat.slice(stat.indexOf('(') + 1, close) !== 'sshd') continue;
    parents.set(Number(name), Number(stat.slice(close + 2).split(' ')[1]));
  }
  const found: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
