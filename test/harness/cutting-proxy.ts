/**
 * A TCP proxy on 127.0.0.1 that breaks real connections, for fault tests of transfers over real
 * sockets below SSH and TLS. It passes TLS through untouched (it never terminates it), so an
 * HTTPS client behind it checks the real server's certificate end to end; `retarget` points it at
 * another server (a "restart" with a new certificate) and drops the open connections.
 *
 * Faults, each counted per connection in bytes from the server to the client:
 * - reset: the connection is reset (RST, as a dropped link or a NAT timeout does) once
 *   `cutAfterBytes` bytes have gone to the client, on the first `maxCuts` connections (default 1);
 * - stall: once `stallAfterBytes` bytes have gone (or `stallAfterUpBytes` from the client to the
 *   server: an upload), nothing is forwarded any more in either direction while both sockets
 *   stay open (a hung peer or a black-holed route), on the first `maxStalls` connections
 *   (default 1), until the client gives up;
 * - slow link: at most `bytesPerSecond` go to the client (in slices every 20 ms).
 * After the faults are used up everything passes through.
 */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CuttingProxyOptions {
  cutAfterBytes?: number;
  maxCuts?: number;
  stallAfterBytes?: number;
  /** Stall once this many bytes have gone from the client to the server. */
  stallAfterUpBytes?: number;
  maxStalls?: number;
  bytesPerSecond?: number;
}

/** When bytes went to the client: `bytes` counts all connections, `at` is performance.now(). */
export interface ForwardSample {
  at: number;
  bytes: number;
}

export interface CuttingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections this proxy has reset. */
  readonly cuts: number;
  /** Connections this proxy has stalled. */
  readonly stalls: number;
  /** Bytes forwarded from the server to the client, all connections together. */
  readonly forwarded: number;
  /** One sample per forwarded write (with `bytesPerSecond`, one per slice). */
  readonly samples: readonly ForwardSample[];
  /** Settles when the proxy has stalled `count` connections (default 1). */
  waitForStalls(count?: number): Promise<void>;
  /** Settles when `count` stalled connections (default 1) were closed by the client (it gave up), with how long the last one stalled in ms. */
  waitForStallEnd(count?: number): Promise<number>;
  /** Sends new connections to another server and drops the open ones, as a restart of the server would. */
  retarget(target: { port: number; host?: string }): void;
  close(): Promise<void>;
}

const SLICE_MS = 20;

export async function startCuttingProxy(firstTarget: { port: number; host?: string }, options: CuttingProxyOptions = {}): Promise<CuttingProxy> {
  const open = new Set<net.Socket>();
  const events = new EventEmitter();
  const samples: ForwardSample[] = [];
  let target = firstTarget;
  let connections = 0;
  let cuts = 0;
  let stalls = 0;
  let forwarded = 0;
  const stallEnds: number[] = [];

  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect({ port: target.port, host: target.host ?? '127.0.0.1' });
    open.add(client).add(upstream);
    let toClient = 0;
    let toServer = 0;
    let stalledAt: number | null = null;
    const queue: Buffer[] = [];
    let pacer: NodeJS.Timeout | null = null;
    const reset = (): void => {
      if (pacer !== null) clearInterval(pacer);
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    const stall = (): void => {
      stalls += 1;
      stalledAt = performance.now();
      // Neither side hears from the other again; the sockets stay open until the client gives up.
      // The client's bytes are still read (and dropped), so its close is seen when it gives up.
      upstream.pause();
      client.resume();
      events.emit('stall');
    };
    const send = (data: Buffer): void => {
      toClient += data.length;
      forwarded += data.length;
      samples.push({ at: performance.now(), bytes: forwarded });
      if (!client.write(data)) upstream.pause();
    };
    /** Forwards `data` unless a fault fires inside it; false when the connection is gone or stalled. */
    const forward = (data: Buffer): boolean => {
      if (stalledAt !== null) return false;
      const cutAt = options.cutAfterBytes;
      if (cutAt !== undefined && cuts < (options.maxCuts ?? 1) && toClient + data.length >= cutAt) {
        send(data.subarray(0, cutAt - toClient));
        cuts += 1;
        reset();
        return false;
      }
      const stallAt = options.stallAfterBytes;
      if (stallAt !== undefined && stalls < (options.maxStalls ?? 1) && toClient + data.length >= stallAt) {
        send(data.subarray(0, stallAt - toClient));
        stall();
        return false;
      }
      send(data);
      return true;
    };
    // With a paced link the server may be done while its last bytes still wait here: the client
    // hears the end only after them.
    let upstreamDone = false;
    const endClientWhenSent = (): void => {
      if (upstreamDone && queue.length === 0 && stalledAt === null && !client.writableEnded) client.end();
    };
    const rate = options.bytesPerSecond;
    if (rate !== undefined) {
      const slice = Math.max(1, Math.round((rate * SLICE_MS) / 1000));
      pacer = setInterval(() => {
        if (stalledAt !== null) return;
        let budget = slice;
        while (budget > 0 && queue.length > 0) {
          const head = queue[0]!;
          const part = head.subarray(0, budget);
          if (part.length === head.length) queue.shift();
          else queue[0] = head.subarray(budget);
          budget -= part.length;
          if (!forward(part)) {
            queue.length = 0;
            return;
          }
        }
        // Keep at most a second's worth waiting here; the rest waits in the server's socket.
        if (queue.reduce((n, b) => n + b.length, 0) < rate) upstream.resume();
        endClientWhenSent();
      }, SLICE_MS);
    }
    upstream.on('data', (data: Buffer) => {
      if (rate === undefined) {
        forward(data);
        return;
      }
      queue.push(data);
      if (queue.reduce((n, b) => n + b.length, 0) >= rate) upstream.pause();
    });
    client.on('drain', () => {
      if (stalledAt === null) upstream.resume();
    });
    client.on('data', (data: Buffer) => {
      if (stalledAt !== null) return;
      const stallAt = options.stallAfterUpBytes;
      if (stallAt !== undefined && stalls < (options.maxStalls ?? 1) && toServer + data.length >= stallAt) {
        upstream.write(data.subarray(0, stallAt - toServer));
        toServer = stallAt;
        stall();
        return;
      }
      toServer += data.length;
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => {
      if (stalledAt === null) client.resume();
    });
    upstream.on('end', () => {
      upstreamDone = true;
      endClientWhenSent();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      upstreamDone = true;
      endClientWhenSent();
    });
    client.on('end', () => upstream.end());
    client.on('close', () => {
      open.delete(client);
      if (pacer !== null) clearInterval(pacer);
      if (stalledAt !== null) {
        stallEnds.push(performance.now() - stalledAt);
        events.emit('stall-end');
      }
      upstream.destroy();
    });
    for (const socket of [client, upstream]) socket.on('error', () => reset());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() { return connections; },
    get cuts() { return cuts; },
    get stalls() { return stalls; },
    get forwarded() { return forwarded; },
    samples,
    async waitForStalls(count = 1) {
      while (stalls < count) await once(events, 'stall');
    },
    async waitForStallEnd(count = 1) {
      while (stallEnds.length < count) await once(events, 'stall-end');
      return stallEnds[count - 1]!;
    },
    retarget(next) {
      target = next;
      for (const socket of open) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
