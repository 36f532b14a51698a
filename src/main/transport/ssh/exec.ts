/**
 * Remote commands over an SSH session: buffered with caps, streamed, or checked. Cancelling
 * sends SIGTERM to the remote process (OpenSSH honours `signal` requests) and closes the channel.
 */
import { Duplex, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Client, ClientChannel } from 'ssh2';
import { LifeboatError } from '../../../shared/errors';
import { cancelledError, throwIfAborted } from './abort';

/** How a remote command ended: an exit code, or the signal that killed it. */
export interface ExecExit {
  code: number | null;
  signal: string | null;
}

/** The result of {@link execCommand}. */
export interface ExecResult extends ExecExit {
  stdout: string;
  stderr: string;
  /** True when stdout exceeded the cap: only its first `maxBuffer` bytes are kept. */
  stdoutTruncated: boolean;
  /** True when stderr exceeded the cap: only its last `maxBuffer` bytes are kept. */
  stderrTruncated: boolean;
}

/**
 * Watches a channel for the connection's idle timeout (SshSession passes its IdleWatch's `begin`):
 * `what` names what waits in the SSH_TIMEOUT, `stalled` gets it; the returned function ends the watch.
 */
export type ChannelWatch = (what: () => string, stalled: (error: LifeboatError) => void) => () => void;

/** Options of {@link execCommand}. */
export interface ExecOptions {
  signal?: AbortSignal;
  /** Piped to the command's stdin, which is closed at its end (or at once when absent). */
  stdin?: Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Cap on each of stdout and stderr kept in memory; default 4 MiB. */
  maxBuffer?: number;
  /** Names the command in errors instead of its text (use it when the text holds a secret). */
  describe?: string;
  watch?: ChannelWatch;
}

/** A command whose output the caller reads as a stream (e.g. `cat dump`). */
export interface ExecStream {
  /** The channel itself: a Duplex of the command's stdout (read) and stdin (write). */
  channel: ClientChannel;
  /** Paused until read; `done` settles only after it has been read to its end. */
  stdout: Readable;
  stdin: Writable;
  /** Settles when the channel closes; stderr's tail is kept for error messages. */
  done: Promise<ExecExit & { stderrTail: string }>;
}

const DEFAULT_MAX_BUFFER = 4 * 1024 * 1024;
const STDERR_TAIL = 4096;

/** Runs a command and buffers its output (with caps), streaming it to the callbacks as well. */
export async function execCommand(client: Client, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const max = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const stdout = new HeadBuffer(max);
  const stderr = new TailBuffer(max);
  const onStderr = (chunk: Buffer): void => {
    stderr.add(chunk);
    options.onStderr?.(chunk);
  };
  const stream = await execStream(client, command, { ...(options.signal ? { signal: options.signal } : {}), ...(options.describe ? { describe: options.describe } : {}), ...(options.watch ? { watch: options.watch } : {}), onStderr });
  // stdout stays paused (buffered) until this listener is attached, so nothing is lost.
  stream.stdout.on('data', (chunk: Buffer) => {
    stdout.add(chunk);
    options.onStdout?.(chunk);
  });
  let stdinError: Error | null = null;
  if (options.stdin) {
    options.stdin.on('error', (error) => {
      stdinError = error;
      stream.channel.close();
    });
    options.stdin.pipe(stream.stdin);
  } else {
    stream.stdin.end();
  }
  const exit = await stream.done;
  // 'close' can come before the last buffered stdout chunk has been emitted.
  await finished(stream.stdout, { writable: false });
  if (stdinError) {
    throw new LifeboatError('SSH_CHANNEL', `Feeding \`${truncate(options.describe ?? command, 200)}\` its input failed: ${(stdinError as Error).message}`, { cause: stdinError });
  }
  return {
    code: exit.code,
    signal: exit.signal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
  };
}

/** Runs a command and throws SSH_COMMAND_FAILED unless it exits with code 0. */
export async function execChecked(client: Client, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const result = await execCommand(client, command, options);
  assertExitOk(result, options.describe ?? command, result.stderr);
  return result;
}

/** Throws SSH_COMMAND_FAILED naming the command, its exit and the tail of its stderr. */
export function assertExitOk(exit: ExecExit, describe: string, stderr: string): void {
  if (exit.code === 0) return;
  const tail = stderr.trim().slice(-STDERR_TAIL);
  const how = exit.code !== null ? `exited with code ${exit.code}` : exit.signal ? `was killed by ${exit.signal}` : 'ended without an exit status';
  throw new LifeboatError('SSH_COMMAND_FAILED', `Remote command \`${truncate(describe, 200)}\` ${how}${tail ? `: ${truncate(tail, 1000)}` : '.'}`, {
    details: { exitCode: exit.code, signal: exit.signal, stderrTail: tail },
  });
}

/** Options of {@link execStream}. */
export interface ExecStreamOptions {
  signal?: AbortSignal;
  /**
   * Sees every stderr chunk. It is attached before any data can arrive: stderr flows from the
   * start (so it never stalls the channel), and a listener added later could miss chunks.
   */
  onStderr?: (chunk: Buffer) => void;
  /** Names the command in errors instead of its text (use it when the text holds a secret). */
  describe?: string;
  /** The connection's idle timeout, watching the command from the channel's opening to its close. */
  watch?: ChannelWatch;
}

/** Starts a command and hands back its streams; the caller must consume stdout. */
export function execStream(client: Client, command: string, options: ExecStreamOptions = {}): Promise<ExecStream> {
  throwIfAborted(options.signal, 'The remote command was cancelled.');
  const describe = `\`${truncate(options.describe ?? command, 200)}\``;
  return new Promise((resolve, reject) => {
    const opening = options.watch?.(() => `starting ${describe}`, reject) ?? (() => undefined);
    client.exec(command, (err, channel) => {
      opening();
      if (err) {
        reject(new LifeboatError('SSH_CHANNEL', `The server would not run a command: ${err.message}`, { cause: err }));
        return;
      }
      resolve(wrapChannel(channel, describe, options));
    });
  });
}

function wrapChannel(channel: ClientChannel, describe: string, { signal, onStderr, watch }: ExecStreamOptions): ExecStream {
  const tail = new TailBuffer(STDERR_TAIL);
  channel.stderr.on('data', (chunk: Buffer) => {
    tail.add(chunk);
    onStderr?.(chunk);
  });
  const done = new Promise<ExecExit & { stderrTail: string }>((resolve, reject) => {
    let exit: ExecExit = { code: null, signal: null };
    const onAbort = (): void => {
      // SIGTERM first so the remote process can clean up; closing the channel ends it anyway.
      if (!channel.destroyed) sendSignal(channel, 'TERM');
      channel.close();
      reject(cancelledError('The remote command was cancelled.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Both directions, for as long as the command runs: the connection stalled. The channel is
    // destroyed with the error too, so a reader of stdout never takes the cut for its end.
    const stopWatching = watch?.(() => `running ${describe}`, (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
      failChannel(channel, error);
    }) ?? (() => undefined);
    channel.on('exit', (code: number | null, sig?: string) => {
      exit = { code: code ?? null, signal: sig ?? null };
    });
    channel.on('error', (error: Error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new LifeboatError('SSH_CHANNEL', `The command's channel failed: ${error.message}`, { cause: error }));
    });
    channel.on('close', () => {
      stopWatching();
      signal?.removeEventListener('abort', onAbort);
      // The tail is complete only once stderr has emitted its last chunk.
      const settle = (): void => resolve({ ...exit, stderrTail: tail.text() });
      if (channel.stderr.readableEnded) settle();
      else channel.stderr.once('end', settle).once('close', settle);
    });
  });
  return { channel, stdout: channel, stdin: channel, done };
}

/**
 * Ends a channel's streams with `error`, so a reader or writer of it fails instead of taking the
 * cut for an end. ssh2's own `Channel.destroy()` only sends EOF and CLOSE, which a stalled
 * connection never carries; the stream's destroy errors it here.
 */
export function failChannel(channel: ClientChannel, error: Error): void {
  Duplex.prototype.destroy.call(channel, error);
}

/**
 * Asks sshd to deliver a signal to the command (RFC 4254 §6.9). ssh2's `Channel.signal()` sends
 * nothing once our side has sent EOF (a command without input gets EOF at once), although the
 * protocol allows channel requests until the channel closes; then the request goes to ssh2's
 * protocol object directly. Without it, sshd leaves the command running after the channel closes.
 */
export function sendSignal(channel: ClientChannel, name: string): void {
  if (channel.writable) {
    channel.signal(name);
    return;
  }
  const internal = channel as unknown as {
    type?: string;
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  const protocol = internal._client?._protocol;
  if (internal.type === 'session' && (internal.outgoing?.state === 'open' || internal.outgoing?.state === 'eof') && typeof internal.outgoing.id === 'number' && typeof protocol?.signal === 'function') {
    protocol.signal(internal.outgoing.id, name);
  }
}

/** Quotes one argument for a POSIX shell: `it's` becomes `'it'\''s'`. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Keeps the first `max` bytes. */
class HeadBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  add(chunk: Buffer): void {
    const room = this.max - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Keeps the last `max` bytes. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.max;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
