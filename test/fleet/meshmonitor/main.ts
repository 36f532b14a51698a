// Runs the fake MeshMonitor standalone:
//   node --import tsx test/fleet/meshmonitor/main.ts [--data-dir DIR] [--password PW] [--token] [--restore DIRNAME] [--port N]
// Prints its URL, certificate fingerprint and (with --token) an API token; Ctrl-C stops it.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startMeshMonitor } from './server';
import { stopOnSignal } from '../stop-on-signal';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    password: { type: 'string', default: 'changeme' },
    token: { type: 'boolean', default: false },
    restore: { type: 'string' },
    port: { type: 'string' },
    development: { type: 'boolean', default: false },
  },
});

const dataDir = values['data-dir'] ?? (await mkdtemp(path.join(os.tmpdir(), 'fake-meshmonitor-')));
const server = await startMeshMonitor({
  dataDir,
  adminPassword: values.password,
  production: !values.development,
  ...(values.token ? { apiToken: true as const } : {}),
  ...(values.restore ? { env: { RESTORE_FROM_BACKUP: values.restore } } : {}),
  ...(values.port ? { port: Number(values.port) } : {}),
});
console.log(`MeshMonitor (fake 4.15.1) at ${server.url}`);
console.log(`certificate SHA-256: ${server.certSha256}`);
console.log(`data dir: ${dataDir}  (backups in ${server.backupDir}, log ${server.logFile})`);
console.log(`login: admin / ${values.password === 'changeme' ? 'changeme' : '(the password you gave)'}`);
if (server.apiToken) console.log(`API token: ${server.apiToken}`);

stopOnSignal(() => server.stop());
