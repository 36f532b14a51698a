import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { buildConnector } from 'undici';
import { LifeboatError } from '../../../shared/errors';

/** What `probeTls` learns about a server's certificate before anyone trusts it. */
export interface TlsProbe {
  /** SHA-256 of the certificate's DER, upper-case hex pairs joined by colons (as `openssl x509 -fingerprint`). */
  sha256: string;
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** Issuer equals subject and the certificate verifies with its own key. */
  selfSigned: boolean;
  /** Whether normal CA validation (plus the optional caFile) accepted it for this host name. */
  trusted: boolean;
  /** OpenSSL's reason when `trusted` is false, e.g. DEPTH_ZERO_SELF_SIGNED_CERT. */
  authorizationError: string | null;
}

/** Canonical form of a SHA-256 fingerprint: 32 upper-case hex pairs joined by colons. */
export function normalizeFingerprint(hex: string): string {
  const digits = hex.replace(/:/g, '').trim().toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(digits)) {
    throw new LifeboatError('INVALID_INPUT', 'A certificate pin must be a SHA-256 in hex (64 digits, colons allowed).');
  }
  return digits.match(/../g)!.join(':');
}

/** SHA-256 fingerprint of a DER certificate in canonical form. */
export function fingerprintDer(der: Buffer): string {
  return normalizeFingerprint(createHash('sha256').update(der).digest('hex'));
}

/** Root store plus the PEM of a private CA, or undefined to use Node's default roots only. */
export function trustedCas(caPem: string | undefined): string[] | undefined {
  return caPem === undefined ? undefined : [...tls.rootCertificates, caPem];
}

export interface VerifyingConnectorOptions {
  /** host:port (lower-case host, explicit port) the pin belongs to; other origins get normal validation. */
  pinnedOrigin: string | null;
  pin: string | null;
  ca: string[] | undefined;
  connectTimeoutMs: number;
}

/** `host:port` key used to decide whether a connection goes to the pinned origin. */
export function originKey(hostname: string, port: string | number, protocol: string): string {
  const effectivePort = String(port || (protocol === 'https:' ? 443 : 80));
  return `${hostname.replace(/^\[|\]$/g, '').toLowerCase()}:${effectivePort}`;
}

/**
 * An undici connector that checks every TLS connection itself before a single request byte is sent.
 *
 * Node is told not to reject (rejectUnauthorized: false) only so that we can read the certificate of a
 * server we refuse and report its fingerprint; the decision is taken here, and it fails closed:
 * - the pinned origin is accepted iff SHA-256(DER) equals the pin (CA validation does not matter);
 * - every other connection must pass normal CA + host name validation (`socket.authorized`).
 * No TLS session cache is used, so no connection can skip the check by resuming an old session
 * (undici's own cache is keyed by host name only, not port, and resumed sessions skip identity checks).
 */
export function verifyingConnector(options: VerifyingConnectorOptions): buildConnector.connector {
  return (connectOptions, callback) => {
    const { hostname, protocol, port } = connectOptions;
    const key = originKey(hostname, port, protocol);
    let done = false;
    const finish = (error: Error | null, socket: net.Socket | tls.TLSSocket | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) {
        socket?.destroy();
        callback(error, null);
      } else {
        callback(null, socket!);
      }
    };

    let socket: net.Socket;
    if (protocol === 'https:') {
      const host = hostname.replace(/^\[|\]$/g, '');
      const tlsSocket = tls.connect({
        host,
        port: Number(port || 443),
        servername: net.isIP(host) ? undefined : host,
        ca: options.ca,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
        socket: connectOptions.httpSocket,
      });
      tlsSocket.once('secureConnect', () => {
        finish(checkPeer(tlsSocket, key, options), tlsSocket);
      });
      socket = tlsSocket;
    } else {
      socket = net.connect({ host: hostname, port: Number(port || 80) });
      socket.once('connect', () => finish(null, socket));
    }
    socket.setNoDelay(true);
    socket.on('error', (error) => finish(error, socket));
    const timer = setTimeout(() => {
      finish(
        new LifeboatError('HTTP_TIMEOUT', `Connecting to ${key} took longer than ${options.connectTimeoutMs} ms.`, {
          details: { timeoutMs: options.connectTimeoutMs, phase: 'connect' },
        }),
        socket,
      );
    }, options.connectTimeoutMs);
    timer.unref();
  };
}

function checkPeer(socket: tls.TLSSocket, key: string, options: VerifyingConnectorOptions): Error | null {
  const der = socket.getPeerCertificate(true)?.raw as Buffer | undefined;
  if (!der || der.length === 0 || socket.isSessionReused()) {
    return new LifeboatError('TLS_UNTRUSTED', `The server at ${key} presented no certificate that could be checked.`);
  }
  const actual = fingerprintDer(der);
  if (options.pin !== null && key === options.pinnedOrigin) {
    if (actual === options.pin) return null;
    return new LifeboatError(
      'TLS_PIN_MISMATCH',
      `The certificate of ${key} is not the one that was trusted: expected SHA-256 ${options.pin}, got ${actual}. ` +
        'It may have been renewed, or someone may be intercepting the connection.',
      { details: { host: key, expected: options.pin, actual } },
    );
  }
  if (socket.authorized) return null;
  const reason = String(socket.authorizationError ?? 'unknown reason');
  return new LifeboatError(
    'TLS_UNTRUSTED',
    `The certificate of ${key} is not trusted (${reason}). Its SHA-256 fingerprint is ${actual}; trust it only if it matches the one on the server.`,
    { details: { host: key, actual, reason } },
  );
}

/** Connects once, reads the server certificate without trusting it, and describes it for a "trust this certificate?" prompt. */
export async function probeTls(
  baseUrl: string,
  options: { caPem?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<TlsProbe> {
  const url = new URL(baseUrl);
  if (url.protocol !== 'https:') {
    throw new LifeboatError('INVALID_INPUT', `Only https:// URLs have a certificate to probe, not ${url.protocol}//.`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const timeoutMs = options.timeoutMs ?? 10_000;
  options.signal?.throwIfAborted();
  return new Promise<TlsProbe>((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      ca: trustedCas(options.caPem),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const settle = (error: Error | null, result?: TlsProbe): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(result!);
    };
    const onAbort = (): void => settle(new LifeboatError('CANCELLED', 'Certificate probe cancelled.'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => settle(new LifeboatError('HTTP_TIMEOUT', `No TLS handshake with ${host}:${port} within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const der = socket.getPeerCertificate(true)?.raw as Buffer | undefined;
      if (!der || der.length === 0) {
        settle(new LifeboatError('TLS_UNTRUSTED', `The server at ${host}:${port} presented no certificate.`));
        return;
      }
      settle(null, describeCertificate(der, socket.authorized, socket.authorized ? null : String(socket.authorizationError)));
    });
    socket.once('error', (error) =>
      settle(new LifeboatError('HTTP_NETWORK', `Could not reach ${host}:${port} for a TLS handshake: ${error.message}`, { cause: error })),
    );
  });
}

function describeCertificate(der: Buffer, trusted: boolean, authorizationError: string | null): TlsProbe {
  const cert = new X509Certificate(der);
  const selfSigned = cert.subject === cert.issuer && cert.checkIssued(cert) && cert.verify(cert.publicKey);
  return {
    sha256: fingerprintDer(der),
    subject: cert.subject,
    issuer: cert.issuer,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    selfSigned,
    trusted,
    authorizationError,
  };
}
