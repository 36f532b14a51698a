// One HTTPS server in front of many installations of one app: installation n lives under
// https://127.0.0.1:<port>/i/<n>/ and every request there goes to its own fake (each with its
// own accounts and tokens), the prefix taken off the path, put back on Location and cookie
// paths. The front logs which credential each request carried (Authorization, cookies, an API
// key header), so a test can prove an installation only ever sent its own.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeCertDir, makeSelfSignedCert, removeCertDir } from '../harness/tls';

/** One request as the front saw it. */
export interface FrontRequest {
  tenant: number;
  method: string;
  /** The path as the fake got it (without /i/<n>). */
  path: string;
  status: number;
  /** Authorization, then Cookie, then X-API-Key, as sent (null: none). */
  authorization: string | null;
  cookie: string | null;
}

export interface TenantFront {
  /** The base URL of tenant n. */
  urlOf(tenant: number): string;
  certSha256: string;
  /** Routes a new tenant to a backend (its own https:// or http:// origin); returns its number. */
  add(backendUrl: string): number;
  requests: FrontRequest[];
  stop(): Promise<void>;
}

const PREFIX = /^\/i\/(\d+)(\/.*)?$/;

export async function startTenantFront(commonName: string): Promise<TenantFront> {
  const certDir = await makeCertDir();
  const cert = await makeSelfSignedCert(certDir, 'front', commonName);
  const backends: URL[] = [];
  const requests: FrontRequest[] = [];
  // The fakes' certificates are their own; the front is the one the installations pin.
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 16 });
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const match = PREFIX.exec(req.url ?? '');
    const tenant = match ? Number(match[1]) : -1;
    const backend = backends[tenant];
    if (!match || !backend) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such installation on this front\n');
      return;
    }
    const prefix = `/i/${tenant}`;
    const rest = match[2] ?? '/';
    const seen: FrontRequest = {
      tenant,
      method: req.method ?? 'GET',
      path: rest,
      status: 0,
      authorization: (req.headers.authorization ?? (req.headers['x-api-key'] as string | undefined)) || null,
      cookie: req.headers.cookie ?? null,
    };
    requests.push(seen);
    const headers = { ...req.headers, host: backend.host };
    const upstream = (backend.protocol === 'https:' ? https : http).request(
      { host: backend.hostname, port: backend.port, method: req.method, path: rest, headers, agent: backend.protocol === 'https:' ? agent : undefined },
      (answer) => {
        seen.status = answer.statusCode ?? 502;
        const out = { ...answer.headers };
        const location = answer.headers.location;
        if (location?.startsWith('/')) out.location = prefix + location;
        else if (location?.startsWith(backend.origin)) out.location = prefix + location.slice(backend.origin.length);
        const cookies = answer.headers['set-cookie'];
        if (cookies) out['set-cookie'] = cookies.map((c) => c.replace(/;\s*path=\/([^;]*)/i, (_m, tail: string) => `; Path=${prefix}/${tail}`));
        res.writeHead(seen.status, out);
        answer.pipe(res);
      },
    );
    upstream.once('error', (error) => {
      seen.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`front: ${error.message}\n`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    urlOf: (tenant) => `https://127.0.0.1:${port}/i/${tenant}/`,
    certSha256: cert.sha256,
    add(backendUrl) {
      backends.push(new URL(backendUrl));
      return backends.length - 1;
    },
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await removeCertDir(certDir);
    },
  };
}
