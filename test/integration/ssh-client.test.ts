// connectSsh against a real OpenSSH sshd: host-key policy, authentication, errors, exec, ProxyJump.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import type { SshConnection } from '../../src/shared/installations';
import { connectSsh } from '../../src/main/transport/ssh/client';
import type { ConnectSshOptions } from '../../src/main/transport/ssh/client';
import type { SshSession } from '../../src/main/transport/ssh/session';
import { freePort, runTool, sshKeygenFingerprint, startSshd } from '../harness/sshd';
import type { TestSshd } from '../harness/sshd';
import { testSecret } from '../harness/secrets';
import { until } from '../harness/wait';

let sshd: TestSshd;
let clientHome: string;
const sessions: SshSession[] = [];

beforeAll(async () => {
  sshd = await startSshd({ passwordAuth: true });
  clientHome = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sshclient-home-'));
  await mkdir(path.join(clientHome, '.ssh'), { mode: 0o700 });
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await sshd?.stop();
  await rm(clientHome, { recursive: true, force: true });
});

const keyConn = (extra: Partial<SshConnection> = {}): SshConnection => ({ host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, ...extra });
// An empty client home: no ssh config, no known_hosts, no default keys.
const isolated = (extra: ConnectSshOptions = {}): ConnectSshOptions => ({ homeDir: clientHome, ...extra });

async function open(conn: SshConnection, options: ConnectSshOptions = {}): Promise<SshSession> {
  const session = await connectSsh(conn, isolated(options));
  sessions.push(session);
  return session;
}

/** The LifeboatError a promise rejects with (a resolution fails the test). */
const failure = (promise: Promise<unknown>): Promise<LifeboatError> =>
  promise.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (error: unknown) => (error instanceof LifeboatError ? error : Promise.reject(error)),
  );

describe('host key policy', () => {
  it('refuses an unknown host key with the fingerprint ssh-keygen -lf prints', async () => {
    const error = await failure(connectSsh(keyConn(), isolated()));
    expect(error.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(error.details).toMatchObject({ fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519', hop: 'target' });
    expect(error.message).toContain(sshd.hostKeyFingerprint);
    expect(sshd.hostKeyFingerprint).toBe(await sshKeygenFingerprint(path.join(sshd.dir, 'host_ed25519.pub')));
  });

  it('connects when the operator trusts exactly that fingerprint, and reports it for pinning', async () => {
    const wrong = await failure(connectSsh(keyConn(), isolated({ trustFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })));
    expect(wrong.code).toBe('SSH_HOST_KEY_UNKNOWN');
    const session = await open(keyConn(), { trustFingerprint: sshd.hostKeyFingerprint });
    expect(session.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(session.info.target).toMatchObject({ algorithm: 'ssh-ed25519', trustedBy: 'trusted-now', user: sshd.user, port: sshd.port });
    expect(session.info.serverIdent).toMatch(/^SSH-2\.0-OpenSSH_9/);
    await session.close();
  });

  it('reconnects with the pinned fingerprint', async () => {
    const session = await open(keyConn({ hostKeySha256: sshd.hostKeyFingerprint }));
    expect(session.info.target.trustedBy).toBe('pinned');
    expect((await session.execChecked('id -un')).stdout.trim()).toBe(sshd.user);
    await session.close();
    expect(await session.closed).toBeNull();
    expect(session.isOpen).toBe(false);
    await expect(session.exec('true')).rejects.toThrow(/closed/);
  });

  it('honours a hashed known_hosts entry written by ssh-keygen -H, and fails closed on a different key there', async () => {
    const file = path.join(clientHome, '.ssh', 'known_hosts');
    await writeFile(file, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    await runTool('ssh-keygen', ['-H', '-f', file]);
    expect(await readFile(file, 'utf8')).not.toContain('127.0.0.1');
    const session = await open(keyConn());
    expect(session.info.target.trustedBy).toBe('known-hosts');
    await session.close();

    const other = path.join(clientHome, 'other_host_key');
    await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherLine = (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const changedFile = path.join(clientHome, 'changed_known_hosts');
    await writeFile(changedFile, `[127.0.0.1]:${sshd.port} ${otherLine}\n`);
    const error = await failure(connectSsh(keyConn(), isolated({ knownHostsFiles: [changedFile], trustFingerprint: sshd.hostKeyFingerprint })));
    expect(error.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(error.details).toMatchObject({ expected: await sshKeygenFingerprint(`${other}.pub`), presented: sshd.hostKeyFingerprint, source: 'known_hosts' });
    await rm(file);
  });

  it('resolves an ssh_config alias (HostName, Port, User, IdentityFile)', async () => {
    const configFile = path.join(clientHome, '.ssh', 'config');
    await writeFile(configFile, `Host fleet-box\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKeyPath}\n`);
    try {
      const session = await open({ host: 'fleet-box', auth: 'key', hostKeySha256: sshd.hostKeyFingerprint });
      expect(session.info.target).toMatchObject({ host: '127.0.0.1', port: sshd.port, user: sshd.user });
      await session.close();
    } finally {
      await rm(configFile);
    }
  });
});

describe('authentication', () => {
  it('logs in with a password; a wrong one is SSH_AUTH_FAILED without the password in the error', async () => {
    const conn: SshConnection = { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'password', hostKeySha256: sshd.hostKeyFingerprint };
    const session = await open(conn, { secrets: { password: sshd.password as string } });
    expect((await session.execChecked('id -un')).stdout.trim()).toBe(sshd.user);
    await session.close();
    const wrongPassword = testSecret('wrong');
    const error = await failure(connectSsh(conn, isolated({ secrets: { password: wrongPassword } })));
    expect(error.code).toBe('SSH_AUTH_FAILED');
    expect(JSON.stringify(error.toPayload())).not.toContain(wrongPassword);
    expect((await failure(connectSsh(conn, isolated()))).code).toBe('SECRET_REQUIRED');
  });

  it('refuses a key the server does not know', async () => {
    const stranger = path.join(clientHome, 'stranger');
    await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const error = await failure(connectSsh(keyConn({ keyFile: stranger, hostKeySha256: sshd.hostKeyFingerprint }), isolated()));
    expect(error.code).toBe('SSH_AUTH_FAILED');
    expect(error.message).toContain(sshd.user);
  });

  it('uses an encrypted key only with its passphrase', async () => {
    const keyFile = path.join(clientHome, 'encrypted');
    const passphrase = testSecret('keypass');
    await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', keyFile]);
    await appendFile(path.join(sshd.dir, 'authorized', sshd.user), await readFile(`${keyFile}.pub`, 'utf8'));
    const conn = keyConn({ keyFile, hostKeySha256: sshd.hostKeyFingerprint });
    expect((await failure(connectSsh(conn, isolated()))).details).toMatchObject({ purpose: 'ssh-key-passphrase' });
    const wrong = await failure(connectSsh(conn, isolated({ secrets: { passphrase: 'not-it' } })));
    expect(wrong.code).toBe('SSH_AUTH_FAILED');
    expect(wrong.message).toMatch(/passphrase/);
    const session = await open(conn, { secrets: { passphrase } });
    await session.close();
  });

  it('logs in through a real ssh-agent', async () => {
    const socket = path.join(clientHome, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await until(() => exists(socket), 'ssh-agent to create its socket');
      await runToolEnv('ssh-add', [sshd.clientKeyPath], { SSH_AUTH_SOCK: socket });
      const session = await open({ host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'agent', hostKeySha256: sshd.hostKeyFingerprint }, { agentSocket: socket });
      expect((await session.execChecked('id -un')).stdout.trim()).toBe(sshd.user);
      await session.close();
      const missing = await failure(connectSsh({ host: '127.0.0.1', port: sshd.port, auth: 'agent' }, isolated({ agentSocket: path.join(clientHome, 'no.sock') })));
      expect(missing.code).toBe('SSH_CONFIG');
    } finally {
      agent.kill('SIGTERM');
    }
  });
});

describe('connection errors', () => {
  it('names a refused port, an unknown host name, a silent server and a cancelled connect', async () => {
    const closedPort = await freePort();
    expect((await failure(connectSsh({ host: '127.0.0.1', port: closedPort, auth: 'key', keyFile: sshd.clientKeyPath }, isolated()))).code).toBe('SSH_CONNECTION_REFUSED');
    expect((await failure(connectSsh({ host: 'lifeboat-no-such-host.invalid', auth: 'key', keyFile: sshd.clientKeyPath }, isolated()))).code).toBe('SSH_DNS');

    let onSilentConnection = (): void => undefined;
    const silent = net.createServer(() => onSilentConnection());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const error = await failure(connectSsh({ host: '127.0.0.1', port: silentPort, auth: 'key', keyFile: sshd.clientKeyPath, connectTimeoutMs: 600 }, isolated()));
      expect(error.code).toBe('SSH_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(5000);
      // Cancelled once the server has the connection: the connect is under way, not yet begun or done.
      const controller = new AbortController();
      onSilentConnection = () => controller.abort();
      const cancelled = await failure(connectSsh({ host: '127.0.0.1', port: silentPort, auth: 'key', keyFile: sshd.clientKeyPath }, isolated({ signal: controller.signal })));
      expect(cancelled.code).toBe('CANCELLED');
    } finally {
      silent.close();
    }
  });
});

describe('exec', () => {
  it('streams output, reports exit codes and feeds stdin', async () => {
    const session = await open(keyConn({ hostKeySha256: sshd.hostKeyFingerprint }));
    const chunks: string[] = [];
    // Each line waits for the client to have received the one before: output streams, by construction.
    const go = new PassThrough();
    go.write('go\n');
    const onStdout = (c: Buffer): void => {
      chunks.push(c.toString());
      if (chunks.join('').split('\n').length <= 3) go.write('go\n');
      else go.end();
    };
    const result = await session.exec('for i in 1 2 3; do read go; echo line$i; done; echo oops >&2; exit 7', { stdin: go, onStdout });
    expect(result).toMatchObject({ code: 7, signal: null, stdout: 'line1\nline2\nline3\n', stderr: 'oops\n' });
    expect(chunks.join('')).toBe(result.stdout);
    expect(chunks.length).toBe(3);

    const failed = await failure(session.execChecked('echo first >&2; echo reason >&2; exit 3'));
    expect(failed.code).toBe('SSH_COMMAND_FAILED');
    expect(failed.details).toMatchObject({ exitCode: 3, stderrTail: 'first\nreason' });
    expect(failed.message).toContain('reason');
    const hidden = await failure(session.execChecked('false', { describe: 'the secret-bearing command' }));
    expect(hidden.message).toContain('the secret-bearing command');

    const input = Buffer.alloc(1024 * 1024, 7);
    expect((await session.execChecked('wc -c', { stdin: Readable.from([input.subarray(0, 1000), input.subarray(1000)]) })).stdout.trim()).toBe(String(input.length));

    const capped = await session.exec("head -c 100000 /dev/zero | tr '\\0' a", { maxBuffer: 1000 });
    expect(capped.stdout).toHaveLength(1000);
    expect(capped.stdoutTruncated).toBe(true);

    const errors: string[] = [];
    const stream = await session.execStream('echo starting >&2; head -c 5000000 /dev/zero; echo done >&2', { onStderr: (c) => errors.push(c.toString()) });
    let bytes = 0;
    for await (const chunk of stream.stdout as AsyncIterable<Buffer>) bytes += chunk.length;
    expect(bytes).toBe(5_000_000);
    expect(await stream.done).toEqual({ code: 0, signal: null, stderrTail: 'starting\ndone\n' });
    expect(errors.join('')).toBe('starting\ndone\n');

    const killed = await session.exec('kill -TERM $$');
    expect(killed).toMatchObject({ code: null, signal: 'SIGTERM' });

    // Cancelled once the command is seen running (its first output), not after a guessed delay.
    const controller = new AbortController();
    let cancelledAt = 0;
    const cancelOnOutput = (): void => {
      cancelledAt = Date.now();
      controller.abort();
    };
    expect((await failure(session.exec('echo running; sleep 30', { signal: controller.signal, onStdout: cancelOnOutput }))).code).toBe('CANCELLED');
    expect(cancelledAt).toBeGreaterThan(0);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    // The connection is still usable after a cancelled command.
    expect((await session.execChecked('echo still-here')).stdout).toBe('still-here\n');

    // Cancel stops the remote command itself: sshd leaves a process running when its channel
    // closes, so without the SIGTERM the shell would go on to the touch. Its stdin was closed at
    // once (no input), after which ssh2 alone would not send the signal.
    // The shell prints its pid, is cancelled once that arrives, and the test waits until that
    // process has ended: killed at once, or (if cancel did not stop it) after its sleep and touch.
    const marker = `/tmp/lifeboat-cancel-${process.pid}-${Date.now()}`;
    const stopping = new AbortController();
    let shellPid = '';
    const cancelOnPid = (c: Buffer): void => {
      shellPid += c.toString();
      if (shellPid.endsWith('\n')) stopping.abort();
    };
    expect((await failure(session.exec(`echo $$; sleep 2; touch ${marker}`, { signal: stopping.signal, onStdout: cancelOnPid }))).code).toBe('CANCELLED');
    expect(shellPid).toMatch(/^\d+\n$/);
    // Alive unless gone or a zombie (whoever reaps orphans here may not do so at once).
    const alive = `state=$(sed 's/.*) //' /proc/${shellPid.trim()}/stat 2>/dev/null | cut -c1); [ -n "$state" ] && [ "$state" != Z ]`;
    await until(async () => (await session.exec(alive)).code !== 0, 'the cancelled remote shell to end');
    expect((await session.exec(`test -e ${marker}`)).code, 'the cancelled command went on running').toBe(1);
    await session.close();
  });
});

describe('ProxyJump', () => {
  it('reaches the server through a jump host (itself), verifying both host keys', async () => {
    const jump = `${sshd.user}@127.0.0.1:${sshd.port}`;
    const unknownJump = await failure(connectSsh(keyConn({ jumpHost: jump, hostKeySha256: sshd.hostKeyFingerprint }), isolated()));
    expect(unknownJump.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(unknownJump.details).toMatchObject({ hop: 'jump', fingerprint: sshd.hostKeyFingerprint });

    const session = await open(keyConn({ jumpHost: jump, hostKeySha256: sshd.hostKeyFingerprint }), { jumpHostKeys: [sshd.hostKeyFingerprint] });
    expect(session.info.jumpHosts).toEqual([expect.objectContaining({ host: '127.0.0.1', port: sshd.port, fingerprint: sshd.hostKeyFingerprint })]);
    // sshd sees the target connection coming from the jump host's forwarding, i.e. from 127.0.0.1.
    expect((await session.execChecked('echo $SSH_CONNECTION')).stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+/);
    await session.close();

    const configFile = path.join(clientHome, 'jump_config');
    await writeFile(configFile, `Host target\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  ProxyJump bastion\nHost bastion\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  IdentityFile ${sshd.clientKeyPath}\nHost *\n  User ${sshd.user}\n`);
    const viaConfig = await open({ host: 'target', auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint }, { sshConfigFile: configFile, jumpHostKeys: [sshd.hostKeyFingerprint] });
    expect(viaConfig.info.jumpHosts).toHaveLength(1);
    await viaConfig.close();

    const closedPort = await freePort();
    const unreachable = await failure(connectSsh(keyConn({ port: closedPort, jumpHost: jump, hostKeySha256: sshd.hostKeyFingerprint }), isolated({ jumpHostKeys: [sshd.hostKeyFingerprint] })));
    expect(unreachable.code).toBe('SSH_CONNECTION_REFUSED');
    expect(unreachable.message).toContain('jump host');
  });
});

describe('host key rotation', () => {
  it('refuses a changed host key, naming the pinned and the presented fingerprints', async () => {
    const pinned = sshd.hostKeyFingerprint;
    const rotated = await sshd.rotateHostKey();
    expect(rotated).not.toBe(pinned);
    const error = await failure(connectSsh(keyConn({ hostKeySha256: pinned }), isolated({ trustFingerprint: rotated })));
    expect(error.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(error.details).toMatchObject({ expected: pinned, presented: rotated, algorithm: 'ssh-ed25519', source: 'pinned' });
    expect(error.message).toContain(pinned);
    expect(error.message).toContain(rotated);
    const repinned = await open(keyConn({ hostKeySha256: rotated }));
    expect(repinned.hostKeyFingerprint).toBe(rotated);
    await repinned.close();
  });
});

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch (error) {
    // A socket exists but cannot be read as a file.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function runToolEnv(file: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} failed (${code}): ${stderr}`))));
  });
}
