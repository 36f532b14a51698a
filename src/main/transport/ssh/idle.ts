/**
 * The idle timeout of an SSH connection: while something waits for the server and nothing it
 * counts as life arrives for `timeoutMs`, the connection is stalled (a hung peer, a black-holed
 * route): everything waiting fails with one SSH_TIMEOUT and the connection is given up. Bytes
 * count, not answers, so a slow link that takes long for one large READ answer never trips it.
 *
 * What counts as life depends on what waits, so a session keeps two watches with the same timeout
 * (session.ts): SFTP requests and transfers (reads, uploads, fsync, close), where the server is
 * expected to answer, hear only the SFTP channel's data — a hung sftp-server on a live connection
 * still trips it; remote commands and forwarded channels, which may be legitimately silent for
 * long (pg_restore building a big index prints nothing and reads nothing), hear any byte on the
 * connection, keepalive answers included: with keepalives sent several times per timeout
 * (client.ts), only a connection that stopped answering trips it.
 */
import { LifeboatError } from '../../../shared/errors';

interface Waiter {
  what: () => string;
  stalled: (error: LifeboatError) => void;
}

export class IdleWatch {
  private readonly waiters = new Set<Waiter>();
  private lastHeard = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** `giveUp` ends the connection; it runs once, before the waiters hear the error. */
  constructor(
    readonly timeoutMs: number,
    private readonly where: string,
    private readonly giveUp: (error: LifeboatError) => void,
  ) {}

  /** Bytes this watch counts as life arrived from the server. */
  heard(): void {
    this.lastHeard = performance.now();
  }

  /**
   * Something waits for the server until the returned function is called; `what` says what (for
   * the error), `stalled` is called with the SSH_TIMEOUT when the connection stalls meanwhile.
   */
  begin(what: () => string, stalled: (error: LifeboatError) => void): () => void {
    const waiter: Waiter = { what, stalled };
    if (this.stopped) {
      stalled(new LifeboatError('SSH_CHANNEL', `The SSH connection to ${this.where} is closed.`));
      return () => undefined;
    }
    if (this.waiters.size === 0) {
      // The idle time counts from when waiting began, not from the last answer before it.
      this.lastHeard = performance.now();
      this.arm(this.timeoutMs);
    }
    this.waiters.add(waiter);
    return () => {
      this.waiters.delete(waiter);
      if (this.waiters.size === 0) this.disarm();
    };
  }

  /** The connection was given up for `error`: everything waiting hears it, and nothing is watched any more. */
  fail(error: LifeboatError): void {
    const waiting = [...this.waiters];
    this.stop();
    for (const waiter of waiting) waiter.stalled(error);
  }

  /** The connection ended: nothing is watched any more. */
  stop(): void {
    this.stopped = true;
    this.waiters.clear();
    this.disarm();
  }

  private arm(ms: number): void {
    this.disarm();
    this.timer = setTimeout(() => this.check(), ms);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private check(): void {
    this.timer = null;
    if (this.stopped || this.waiters.size === 0) return;
    const quiet = performance.now() - this.lastHeard;
    if (quiet < this.timeoutMs) {
      this.arm(this.timeoutMs - quiet);
      return;
    }
    const waiting = [...this.waiters].map((w) => w.what());
    const seconds = Math.round(quiet / 100) / 10;
    const error = new LifeboatError(
      'SSH_TIMEOUT',
      `Nothing arrived from ${this.where} for ${seconds} s while ${waiting.join('; ')}, so the connection was given up (idle timeout ${this.timeoutMs} ms).`,
      { details: { host: this.where, idleMs: this.timeoutMs, waiting } },
    );
    const stalled = [...this.waiters];
    this.stop();
    this.giveUp(error);
    for (const waiter of stalled) waiter.stalled(error);
  }
}
