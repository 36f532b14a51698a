/**
 * TCP forwarding through an SSH connection (`direct-tcpip`), two ways:
 * - {@link forwardChannel}: the channel itself, given the socket methods `pg` calls on a custom
 *   stream (pg 8.23 calls setNoDelay, connect, then setKeepAlive on 'connect'), so no local port
 *   is ever opened;
 * - {@link openLocalTunnel}: a 127.0.0.1 listener like `ssh -L`, for tools that want host:port
 *   (pg_dump, psql). Any local process can connect to it while it is open: close it promptly.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { LifeboatError } from '../../../shared/errors';

/** A forwarded channel that also answers the net.Socket calls pg makes. */
export type ForwardedStream = ClientChannel & {
  setNoDelay(noDelay?: boolean): ForwardedStream;
  setKeepAlive(enable?: boolean, initialDelay?: number): ForwardedStream;
  connect(...args: unknown[]): ForwardedStream;
  ref(): ForwardedStream;
  unref(): ForwardedStream;
};

/** A local listener forwarding to a host:port seen from the SSH server. */
export interface LocalTunnel {
  localHost: '127.0.0.1';
  localPort: number;
  /** The last failure to forward a connection (the local client saw a reset), or null. */
  readonly lastError: LifeboatError | null;
  /** Stops listening and ends the forwarded connections. */
  close(): Promise<void>;
}

/** Opens a `direct-tcpip` channel to host:port as seen from the server. */
export function openForward(client: Client, host: string, port: number, from: { ip: string; port: number } = { ip: '127.0.0.1', port: 0 }): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut(from.ip, from.port, host, port, (err, channel) => {
      if (err) {
        const reason = (err as Error & { reason?: number }).reason;
        // RFC 4254: reason 2 = connect failed (the server could not reach the target).
        const code = reason === 2 ? 'SSH_CONNECTION_REFUSED' : 'SSH_CHANNEL';
        reject(new LifeboatError(code, `The SSH server could not open a connection to ${host}:${port}: ${err.message}`, { details: { host, port }, cause: err }));
        return;
      }
      resolve(channel);
    });
  });
}

/** A forwarded channel that can be handed to pg: `new pg.Client({ stream: () => channel, … })`. */
export async function forwardChannel(client: Client, host: string, port: number): Promise<ForwardedStream> {
  const channel = (await openForward(client, host, port)) as ForwardedStream;
  // The channel is already open: these are the socket calls a TCP stream would need.
  channel.setNoDelay = () => channel;
  channel.setKeepAlive = () => channel;
  channel.ref = () => channel;
  channel.unref = () => channel;
  channel.connect = () => {
    process.nextTick(() => channel.emit('connect'));
    return channel;
  };
  return channel;
}

/** Listens on 127.0.0.1 (a free port) and forwards each connection through the SSH client. */
export function openLocalTunnel(client: Client, remoteHost: string, remotePort: number): Promise<LocalTunnel> {
  const sockets = new Set<Duplex>();
  let lastError: LifeboatError | null = null;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pause();
    openForward(client, remoteHost, remotePort, { ip: socket.remoteAddress ?? '127.0.0.1', port: socket.remotePort ?? 0 }).then(
      (channel) => {
        sockets.add(channel);
        channel.on('close', () => {
          sockets.delete(channel);
          socket.destroy();
        });
        channel.on('error', (error: Error) => socket.destroy(error));
        socket.on('close', () => channel.destroy());
        socket.pipe(channel).pipe(socket);
        socket.resume();
      },
      (error: LifeboatError) => {
        // The local client sees its connection reset, as with `ssh -L` when the target refuses.
        lastError = error;
        socket.destroy();
      },
    );
  });
  return new Promise((resolve, reject) => {
    let listening = false;
    server.on('error', (error) => {
      const wrapped = new LifeboatError('SSH_CHANNEL', `The local tunnel port failed: ${error.message}`, { cause: error });
      if (listening) lastError = wrapped;
      else reject(wrapped);
    });
    server.listen(0, '127.0.0.1', () => {
      listening = true;
      const address = server.address() as net.AddressInfo;
      resolve({
        localHost: '127.0.0.1',
        localPort: address.port,
        get lastError() {
          return lastError;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
