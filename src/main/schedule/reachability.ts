import { networkInterfaces } from 'node:os';
import net from 'node:net';
import type { Installation } from '../../shared/installations';

/** Where an installation is reached: its SSH server (or bastion), else its HTTPS server. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Errors that say the network (not the app, not a password) is what failed. */
const NETWORK_CODES = new Set(['SSH_CONNECTION_REFUSED', 'SSH_TIMEOUT', 'SSH_DNS', 'HTTP_NETWORK', 'HTTP_TIMEOUT']);

export function isNetworkFailure(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && NETWORK_CODES.has(code);
}

/** The first hop of an installation's connection, for a reachability probe; null when it has none that can be named. */
export function endpointOf(installation: Pick<Installation, 'ssh' | 'https'>): Endpoint | null {
  if (installation.ssh) {
    const jump = installation.ssh.jumpHost ? /^(?:[^@]+@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(installation.ssh.jumpHost) : null;
    if (jump) return { host: jump[1]!.replace(/^\[|\]$/g, ''), port: jump[2] ? Number(jump[2]) : 22 };
    const { host } = installation.ssh;
    // A Host alias of ~/.ssh/config names no address a TCP probe could reach.
    if (!host.includes('.') && !host.includes(':') && host !== 'localhost') return null;
    return { host, port: installation.ssh.port ?? 22 };
  }
  if (installation.https) {
    const url = new URL(installation.https.baseUrl);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443 };
  }
  return null;
}

/** Whether this machine has an address other than loopback (a cable, Wi-Fi, a VPN). */
export function hasExternalInterface(): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => !i.internal));
}

/** What a probe found: a connection opened, none did, or the name did not resolve (which tells nothing). */
export type Reach = 'reached' | 'unreachable' | 'unknown';

/** Whether a TCP connection to the endpoint opens within `timeoutMs`. */
export function tcpReachable(endpoint: Endpoint, timeoutMs = 5_000): Promise<Reach> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const finish = (reach: Reach) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reach);
    };
    const timer = setTimeout(() => finish('unreachable'), timeoutMs);
    socket.once('connect', () => finish('reached'));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ENOTFOUND' ? 'unknown' : 'unreachable'));
  });
}

/** How the monitor looks at the network; a test gives its own. */
export interface NetworkProbes {
  interfaces(): boolean;
  reach(endpoint: Endpoint): Promise<Reach>;
}

export const systemProbes: NetworkProbes = { interfaces: hasExternalInterface, reach: (e) => tcpReachable(e) };

/** Scheduled pulls in a row (on different installations, none succeeding between) that failed on the network before Lifeboat counts itself offline. */
const OFFLINE_AFTER = 3;
/** Endpoints probed per check while offline. */
const PROBED = 5;

/**
 * Whether the network is gone, and when it comes back. Offline: the shell said so (Electron's
 * `net.isOnline()`), or the last scheduled pulls of several installations (all of a smaller
 * fleet) failed on the network with no success between. Back: the shell says online, the
 * machine gains a non-loopback address it did not have, or one of the failed endpoints accepts a
 * TCP connection again. The scheduler then holds pulls (their slots are kept as missed) and runs
 * what is past due once when the network returns.
 */
export class NetworkMonitor {
  /** Installations whose last scheduled pull failed on the network, since the last success. */
  private readonly down = new Set<string>();
  private hadInterfaces: boolean;
  private systemOffline = false;

  /** `endpoint`: where an installation is reached (null: it cannot be probed). */
  constructor(
    private readonly endpoint: (installationId: string) => Promise<Endpoint | null>,
    private readonly probes: NetworkProbes = systemProbes,
  ) {
    this.hadInterfaces = probes.interfaces();
  }

  /** `fleetSize`: installations with scheduled pulls (a fleet of one is offline after one failure). */
  offline(fleetSize: number): boolean {
    return this.systemOffline || (this.down.size > 0 && this.down.size >= Math.max(1, Math.min(OFFLINE_AFTER, fleetSize)));
  }

  /** A scheduled pull ended: `code` is its error code, null when it succeeded. */
  noteOutcome(installationId: string, code: string | null): void {
    if (code === null) this.down.clear();
    else if (isNetworkFailure(code)) this.down.add(installationId);
    else this.down.delete(installationId);
  }

  /** The shell's word (Electron `net.isOnline()`); true when this brings the network back. */
  setSystemOnline(online: boolean): boolean {
    const back = online && this.systemOffline;
    this.systemOffline = !online;
    if (back) this.down.clear();
    return back;
  }

  /** Looks at the network now; true when it has come back. */
  async check(fleetSize: number): Promise<boolean> {
    const interfaces = this.probes.interfaces();
    const cameUp = interfaces && !this.hadInterfaces;
    this.hadInterfaces = interfaces;
    const wasOffline = this.offline(fleetSize);
    if (cameUp && !this.systemOffline) {
      this.down.clear();
      return true;
    }
    if (!wasOffline || this.systemOffline) return false;
    const known = await Promise.all([...this.down].map((id) => this.endpoint(id).catch(() => null)));
    const endpoints = [...new Map(known.filter((e): e is Endpoint => e !== null).map((e) => [`${e.host}:${e.port}`, e])).values()].slice(0, PROBED);
    const reached = await Promise.all(endpoints.map((e) => this.probes.reach(e)));
    if (reached.every((r) => r === 'unknown')) {
      // Nothing that can be probed (a Host alias of ~/.ssh/config, a name that does not resolve):
      // not held as offline; the back-off retries as before.
      this.down.clear();
      return false;
    }
    if (!reached.includes('reached')) return false;
    this.down.clear();
    return true;
  }
}
