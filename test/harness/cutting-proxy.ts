/**
 * A TCP proxy on 127.0.0.1 that breaks real connections: a connection is reset (RST, as a dropped
 * link or a NAT timeout does) once `cutAfterBytes` bytes have gone from the server to the client
 * on it, until `maxCuts` connections were cut (default 1); after that everything passes through.
 * For fault tests of transfers over real sockets, below SSH and TLS.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CuttingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections this proxy has reset. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: { port: number; host?: string }, options: { cutAfterBytes: number; maxCuts?: number }): Promise<CuttingProxy> {
  const open = new Set<net.Socket>();
  let connections = 0;
  let cuts = 0;
  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect({ port: target.port, host: target.host ?? '127.0.0.1' });
    open.add(client).add(upstream);
    let toClient = 0;
    const reset = (): void => {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    upstream.on('data', (data: Buffer) => {
      if (cuts < (options.maxCuts ?? 1) && toClient + data.length >= options.cutAfterBytes) {
        client.write(data.subarray(0, options.cutAfterBytes - toClient));
        cuts += 1;
        reset();
        return;
      }
      toClient += data.length;
      if (!client.write(data)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('data', (data: Buffer) => {
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      socket.on('end', () => other.end());
      socket.on('error', () => reset());
      socket.on('close', () => {
        open.delete(socket);
        other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() { return connections; },
    get cuts() { return cuts; },
    close: () => new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
