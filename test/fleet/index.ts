// The whole test fleet behind one call: the Weavestream member (real PostgreSQL + sshd) and the
// fake MeshMonitor (HTTPS) whose data directory lives in the same sshd user's home, so SFTP
// uploads land where its restart reads them. MeshMonitor's "restart" is a curl to a small
// control endpoint here that calls the fake's restart() with RESTORE_FROM_BACKUP, as the
// adapter tests do. A third member is the same Weavestream reached over HTTPS only: the fake
// Weavestream API (weavestream/https-server.ts) serving that backup directory, with a read-only
// ws_ key for listing and TOTP for downloads and Run now. Used by `npm run fleet`
// (test/fleet/start.ts) and the e2e tests.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Installation, InstallationInput } from '../../src/shared/installations';
import type { Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { runTool } from '../harness/sshd';
import { startMeshMonitor, type MeshMonitorHandle } from './meshmonitor/server';
import { startWeavestreamFleet, type WeavestreamFleet } from './weavestream/fleet';
import { startWeavestreamHttps, type WeavestreamHttpsHandle } from './weavestream/https-server';

/** Names the fleet's installations get (and how start.ts finds them again). */
export const FLEET_NAMES = { weavestream: 'Weavestream (fleet)', meshmonitor: 'MeshMonitor (fleet)', weavestreamHttps: 'Weavestream HTTPS (fleet)' } as const;

/** The MeshMonitor admin password of the fake. */
const MESHMONITOR_PASSWORD = 'changeme';

/** The running fleet, its installations in the core, and a way to stop it all. */
export interface TestFleet {
  weavestream: WeavestreamFleet;
  meshmonitor: MeshMonitorHandle;
  /** The fake Weavestream API over the Weavestream member's backup directory (TOTP: `code()`). */
  weavestreamHttps: WeavestreamHttpsHandle;
  /** The installations as the core stored them (secrets already in its SecretStore). */
  installations: { weavestream: Installation; meshmonitor: Installation; weavestreamHttps: Installation };
  /** What was passed to `installations:add` for each (secrets included), for another core. */
  inputs: FleetInputs;
  /** RESTORE_FROM_BACKUP values the control endpoint restarted MeshMonitor with, in order. */
  meshMonitorRestarts: string[];
  stop(): Promise<void>;
}

/** What to pass to `installations:add` for the two members (secrets included). */
export interface FleetInputs {
  weavestream: InstallationInput;
  meshmonitor: InstallationInput;
  weavestreamHttps: InstallationInput;
}

/**
 * Starts both fleet members and adds them to `core` (replacing installations of the same names,
 * whose ports and keys belong to an earlier run). Pinned host key and certificate, so no
 * trust prompt is needed.
 */
export async function startTestFleet(core: Core, options: { seedDumps?: number } = {}): Promise<TestFleet> {
  const weavestream = await startWeavestreamFleet({ name: FLEET_NAMES.weavestream, seedDumps: options.seedDumps ?? 2 });
  const cleanups: (() => Promise<void>)[] = [() => weavestream.stop()];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const { sshd } = weavestream;
    // The fake runs as root; the sshd user owns the data dir so SFTP can write system-backups/.
    const dataDir = await mkdtemp(path.join(sshd.homeDir, 'meshmonitor-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await mkdir(path.join(dataDir, 'system-backups'));
    const meshmonitor = await startMeshMonitor({ dataDir, adminPassword: MESHMONITOR_PASSWORD, production: true });
    cleanups.push(() => meshmonitor.stop());
    const weavestreamHttps = await startWeavestreamHttps({ backupDir: weavestream.backupDir, exportNow: () => weavestream.exportNow() });
    cleanups.push(() => weavestreamHttps.stop());
    await runTool('chown', ['-R', `${sshd.user}:`, dataDir]);

    const restarts: string[] = [];
    const control = http.createServer((req, res) => {
      const match = /^\/restart\/([0-9_-]+)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match?.[1]) {
        res.writeHead(404).end();
        return;
      }
      restarts.push(match[1]);
      meshmonitor.restart({ env: { RESTORE_FROM_BACKUP: match[1] } }).then(
        () => res.writeHead(200).end('restarted\n'),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => control.close(() => resolve())));
    const controlPort = (control.address() as AddressInfo).port;

    const inputs: FleetInputs = {
      weavestream: weavestream.installation,
      meshmonitor: {
        name: FLEET_NAMES.meshmonitor,
        app: 'meshmonitor',
        https: { baseUrl: meshmonitor.url, auth: 'password', username: 'admin', pinnedCertSha256: meshmonitor.certSha256 },
        ssh: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint },
        settings: {
          dataDir,
          restartCommand: `curl -fsS -X POST http://127.0.0.1:${controlPort}/restart/{dirname}`,
          logCommand: 'cat {dataDir}/logs/meshmonitor.log',
          restoreTimeoutSeconds: '20',
        },
        expectedCadenceHours: 24,
        secrets: { 'https-password': MESHMONITOR_PASSWORD },
      },
      weavestreamHttps: {
        name: FLEET_NAMES.weavestreamHttps,
        app: 'weavestream',
        https: { baseUrl: weavestreamHttps.url, auth: 'bearer', username: weavestreamHttps.email, pinnedCertSha256: weavestreamHttps.certSha256 },
        settings: {},
        expectedCadenceHours: 24,
        secrets: { 'api-token': weavestreamHttps.apiKey, 'https-password': weavestreamHttps.password },
      },
    };
    const installations = {
      weavestream: await replaceInstallation(core, { ...inputs.weavestream, expectedCadenceHours: 24 }),
      meshmonitor: await replaceInstallation(core, inputs.meshmonitor),
      weavestreamHttps: await replaceInstallation(core, inputs.weavestreamHttps),
    };
    return { weavestream, meshmonitor, weavestreamHttps, installations, inputs, meshMonitorRestarts: restarts, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Adds the installation, first removing one of the same name left by an earlier run. */
async function replaceInstallation(core: Core, input: InstallationInput): Promise<Installation> {
  const client = createInProcessClient(core);
  for (const old of await client.call('installations:list', {})) {
    if (old.name === input.name) await client.call('installations:remove', { id: old.id });
  }
  return client.call('installations:add', input);
}

/** Makes sure the vault exists and is open (a fresh one is made in the core's home). */
export async function ensureVault(core: Core): Promise<'created' | 'opened'> {
  const status = await core.vault.status();
  if (!status.initialized) {
    await core.vault.init();
    return 'created';
  }
  await core.vault.open();
  return 'opened';
}
