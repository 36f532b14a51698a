/**
 * One authenticated SSH connection (possibly through jump hosts) and what Lifeboat does over it:
 * commands, SFTP, and TCP forwarding.
 */
import type { Readable, Writable } from 'node:stream';
import type { Client } from 'ssh2';
import { LifeboatError } from '../../../shared/errors';
import { execChecked, execCommand, execStream, failChannel } from './exec';
import { IdleWatch } from './idle';
import type { ChannelWatch, ExecOptions, ExecResult, ExecStream, ExecStreamOptions } from './exec';
import { Sftp } from './sftp';
import type { RemoteEntry, RemoteStat, SftpReadOptions, SftpWriteOptions } from './sftp';
import { forwardChannel, openLocalTunnel } from './tunnel';
import type { ForwardedStream, LocalTunnel } from './tunnel';

/** How the presented host key came to be accepted. */
export type HostKeyTrust = 'pinned' | 'known-hosts' | 'trusted-now';

/** The identity of a server Lifeboat is talking to. */
export interface ConnectedHost {
  host: string;
  port: number;
  user: string;
  fingerprint: string;
  algorithm: string;
  trustedBy: HostKeyTrust;
}

/** Facts about the connection, for the UI and for pinning. */
export interface SshSessionInfo {
  target: ConnectedHost;
  /** The server's identification line, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`. */
  serverIdent: string;
  /** The pre-login banner the server sent (sshd `Banner`), if any. */
  authBanner: string | null;
  /** Jump hosts in the order they were traversed. */
  jumpHosts: ConnectedHost[];
}

/** Default idle timeout: nothing from the server for this long while Lifeboat waits for it ends the connection. */
export const DEFAULT_SSH_IDLE_TIMEOUT_MS = 30_000;

/** Keepalives are sent this many times per idle timeout, so a live connection is heard well within it. */
export const KEEPALIVES_PER_IDLE_TIMEOUT = 3;

/** An open SSH connection; close it when done. */
export class SshSession {
  readonly info: SshSessionInfo;
  /** Settles when the connection ends: null after close(), the error when it dropped. */
  readonly closed: Promise<LifeboatError | null>;
  private readonly client: Client;
  private readonly hops: Client[];
  private readonly tunnels = new Set<LocalTunnel>();
  private sftpSession: Promise<Sftp> | null = null;
  private open = true;
  private failure: LifeboatError | null = null;
  /** Remote commands and forwarded channels: any byte on the connection is life, keepalive answers included (idle.ts). */
  private readonly idle: IdleWatch;
  /** The SFTP subsystem's requests and transfers: only its channel's data is life. */
  private sftpIdle: IdleWatch | null = null;
  private readonly idleTimeoutMs: number;
  private readonly watchChannel: ChannelWatch;

  constructor(client: Client, info: SshSessionInfo, hops: Client[] = [], options: { idleTimeoutMs?: number } = {}) {
    this.client = client;
    this.info = info;
    this.hops = hops;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_SSH_IDLE_TIMEOUT_MS;
    this.idle = new IdleWatch(this.idleTimeoutMs, this.label, (error) => this.giveUp(error));
    this.watchChannel = (what, stalled) => this.idle.begin(what, stalled);
    // Any byte from the server counts as life; ssh2 keeps the socket (or the jump channel) private.
    (client as unknown as { _sock?: NodeJS.ReadableStream })._sock?.on('data', () => this.idle.heard());
    for (const hop of hops) {
      // A jump host that fails takes the forwarded connection with it; keep its reason.
      hop.on('error', (error: Error) => {
        this.failure ??= new LifeboatError('SSH_CHANNEL', `The jump host connection for ${this.label} failed: ${error.message}`, { cause: error });
      });
    }
    this.closed = new Promise((resolve) => {
      client.on('error', (error: Error) => {
        this.failure ??= new LifeboatError('SSH_CHANNEL', `The SSH connection to ${this.label} failed: ${error.message}`, { cause: error });
      });
      client.on('close', () => {
        this.open = false;
        this.idle.stop();
        this.sftpIdle?.stop();
        this.sftpSession = null;
        for (const hop of this.hops) hop.end();
        resolve(this.failure);
      });
    });
  }

  /** The host key's SHA256 fingerprint, to pin as `hostKeySha256`. */
  get hostKeyFingerprint(): string {
    return this.info.target.fingerprint;
  }

  /** False once the connection has ended. */
  get isOpen(): boolean {
    return this.open;
  }

  /** Runs a command, buffering (capped) and streaming its output; never throws on exit codes. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return execCommand(this.live(), command, { ...options, watch: this.watchChannel });
  }

  /** Runs a command and throws SSH_COMMAND_FAILED (exit code, stderr tail) unless it exits 0. */
  async execChecked(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return execChecked(this.live(), command, { ...options, watch: this.watchChannel });
  }

  /** Starts a command whose stdout the caller streams (e.g. `cat dump.sql.gz`). */
  async execStream(command: string, options: ExecStreamOptions = {}): Promise<ExecStream> {
    return execStream(this.live(), command, { ...options, watch: this.watchChannel });
  }

  /** The session's SFTP subsystem, started on first use and shared. */
  async sftp(): Promise<Sftp> {
    const client = this.live();
    this.sftpSession ??= new Promise<Sftp>((resolve, reject) => {
      const done = this.idle.begin(() => 'starting SFTP', reject);
      client.sftp((err, sftp) => {
        done();
        if (err) {
          this.sftpSession = null;
          reject(new LifeboatError('SSH_SFTP', `The server ${this.label} would not start SFTP: ${err.message}`, { cause: err }));
          return;
        }
        const watch = new IdleWatch(this.idleTimeoutMs, this.label, (error) => this.giveUp(error));
        this.sftpIdle = watch;
        // The SFTP channel's data, where ssh2 hands it to the SFTP parser (it keeps the channel private).
        const internal = sftp as unknown as { push: (data: Buffer | null) => unknown };
        const push = internal.push.bind(sftp);
        internal.push = (data) => {
          watch.heard();
          return push(data);
        };
        sftp.on('close', () => {
          watch.stop();
          this.sftpSession = null;
        });
        resolve(new Sftp(sftp, watch));
      });
    });
    return this.sftpSession;
  }

  /** Stats a remote path (following symlinks); NOT_FOUND when missing. */
  async stat(remotePath: string): Promise<RemoteStat> {
    return (await this.sftp()).stat(remotePath);
  }

  /** Stats a remote path, or null when it does not exist. */
  async statOrNull(remotePath: string): Promise<RemoteStat | null> {
    return (await this.sftp()).statOrNull(remotePath);
  }

  /** Lists a remote directory (name, size, mtime, isDirectory…), sorted by name. */
  async list(dir: string): Promise<RemoteEntry[]> {
    return (await this.sftp()).list(dir);
  }

  /** Streams a remote file from `start` (resume) with pipelined reads. */
  async createReadStream(remotePath: string, options: SftpReadOptions = {}): Promise<Readable> {
    return (await this.sftp()).createReadStream(remotePath, options);
  }

  /** Writes a remote file with pipelined writes; write to a temp name, then rename(). */
  async createWriteStream(remotePath: string, options: SftpWriteOptions = {}): Promise<Writable & { readonly bytesWritten: number }> {
    return (await this.sftp()).createWriteStream(remotePath, options);
  }

  /** Reads a small remote file whole (default cap 16 MiB). */
  async readFile(remotePath: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    return (await this.sftp()).readFile(remotePath, options);
  }

  /** Renames a remote path, replacing the target atomically on OpenSSH. */
  async rename(from: string, to: string): Promise<void> {
    return (await this.sftp()).rename(from, to);
  }

  /** `mkdir -p` on the server. */
  async mkdirp(dir: string, mode?: number): Promise<void> {
    return (await this.sftp()).mkdirp(dir, mode);
  }

  /** Removes a remote file or directory (recursively when asked). */
  async remove(remotePath: string, options: { recursive?: boolean } = {}): Promise<void> {
    return (await this.sftp()).remove(remotePath, options);
  }

  /** A `direct-tcpip` channel to host:port as seen from the server, usable as pg's `stream`; watched like a command while open. */
  async forwardOut(host: string, port: number): Promise<ForwardedStream> {
    const channel = await forwardChannel(this.live(), host, port);
    const stopWatching = this.idle.begin(() => `forwarding a connection to ${host}:${port}`, (error) => failChannel(channel, error));
    channel.once('close', stopWatching);
    return channel;
  }

  /** A 127.0.0.1 listener forwarding to host:port on the server side (like `ssh -L`). */
  async openTunnel(remoteHost: string, remotePort: number): Promise<LocalTunnel> {
    const tunnel = await openLocalTunnel(this.live(), remoteHost, remotePort);
    this.tunnels.add(tunnel);
    return {
      localHost: tunnel.localHost,
      localPort: tunnel.localPort,
      get lastError() {
        return tunnel.lastError;
      },
      close: () => {
        this.tunnels.delete(tunnel);
        return tunnel.close();
      },
    };
  }

  /** Closes tunnels, SFTP and the connection (and its jump hosts); resolves once closed. */
  async close(): Promise<void> {
    await Promise.all([...this.tunnels].map((t) => t.close()));
    this.tunnels.clear();
    if (this.open) this.client.end();
    await this.closed;
  }

  /** A stalled connection is given up at once, so the next use (a resumed read) opens a new one. */
  private giveUp(error: LifeboatError): void {
    this.failure ??= error;
    this.open = false;
    this.sftpSession = null;
    this.client.destroy();
    // What waits on the other watch hears the same error, not a channel closing under it.
    this.idle.fail(error);
    this.sftpIdle?.fail(error);
  }

  private get label(): string {
    const t = this.info.target;
    return `${t.user}@${t.host}:${t.port}`;
  }

  /** The open client; every public method calls it inside an async body, so a closed session rejects and never throws. */
  private live(): Client {
    if (!this.open) {
      throw new LifeboatError('SSH_CHANNEL', `The SSH connection to ${this.label} is closed.`, this.failure ? { cause: this.failure } : {});
    }
    return this.client;
  }
}
