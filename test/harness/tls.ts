// Test certificates made with the real openssl CLI, and loopback HTTP(S) servers that use them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key on disk, with the SHA-256 fingerprint openssl reports for it. */
export interface TestCert {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** `openssl x509 -fingerprint -sha256` output: upper-case hex pairs joined by colons. */
  sha256: string;
}

const SAN = 'subjectAltName=IP:127.0.0.1,DNS:localhost';

async function opensslFingerprint(certFile: string): Promise<string> {
  const { stdout } = await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile]);
  const match = /=([0-9A-F:]+)\s*$/.exec(stdout.trim());
  if (!match?.[1]) throw new Error(`unexpected openssl fingerprint output: ${stdout}`);
  return match[1];
}

async function loadCert(dir: string, name: string): Promise<TestCert> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  return {
    dir,
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
    sha256: await opensslFingerprint(certFile),
  };
}

/** A fresh temp dir for certificates; remove it with `removeCertDir`. */
export async function makeCertDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'lifeboat-tls-'));
}

/** Removes a directory made by `makeCertDir`. */
export async function removeCertDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, valid for two days. */
export async function makeSelfSignedCert(dir: string, name = 'server', commonName = 'lifeboat-test'): Promise<TestCert> {
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`),
    '-days', '2', '-subj', `/CN=${commonName}`, '-addext', SAN,
  ]);
  return loadCert(dir, name);
}

/** A private CA and a leaf for 127.0.0.1/localhost signed by it (for the caFile path). */
export async function makeCaSignedCert(dir: string): Promise<{ ca: TestCert; leaf: TestCert }> {
  const ca = await makeSelfSignedCert(dir, 'ca', 'Lifeboat Test CA');
  const csr = path.join(dir, 'leaf.csr');
  await run('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'leaf.key'), '-out', csr, '-subj', '/CN=lifeboat-leaf',
  ]);
  const ext = path.join(dir, 'leaf.ext');
  await writeFile(ext, `${SAN}\nbasicConstraints=CA:FALSE\n`);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-out', path.join(dir, 'leaf.crt'), '-days', '2', '-extfile', ext,
  ]);
  return { ca, leaf: await loadCert(dir, 'leaf') };
}

/** A running loopback server. */
export interface TestServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

async function listen(server: http.Server, scheme: 'http' | 'https'): Promise<TestServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** An HTTPS server on 127.0.0.1:<free port> presenting `cert`. */
export function startHttpsServer(cert: TestCert, handler: http.RequestListener): Promise<TestServer> {
  return listen(https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler), 'https');
}

/** A plain HTTP server on 127.0.0.1:<free port>. */
export function startHttpServer(handler: http.RequestListener): Promise<TestServer> {
  return listen(http.createServer(handler), 'http');
}
