// A fleet of many lightweight installations of every app kind, so the UI and the scheduler meet a
// realistic fleet: N of each on ONE sshd (each in its own folder, copied from one real seeded
// member) and, for the HTTPS apps, ONE HTTPS endpoint per app (test/fleet/tenant-front.ts; each
// installation under its own path with its own fake, password or token; DBackup's one fake
// serves every installation with its own storage and API key). Used by `npm run fleet --
// --per-app N`, the 200-installation e2e and the fleet benchmarks.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { InstallationInput } from '../../src/shared/installations';
import { runTool, startSshd, type TestSshd } from '../harness/sshd';
import { startDirectoryFleet, type DirectoryFleet } from './directory/fleet';
import { startWeavestreamFleet, type WeavestreamFleet } from './weavestream/fleet';
import { startLoomioFleet, type LoomioFleet } from './loomio/fleet';
import { startDbackupFleet, type DbackupFleet } from './dbackup/fleet';
import { ALL_PERMISSIONS, startFakeDbackup, type FakeDbackup } from './dbackup/server';
import { startMeshMonitor, type MeshMonitorHandle } from './meshmonitor/server';
import { startNojoin, type NojoinFakeHandle } from './nojoin/server';
import { startTenantFront, type TenantFront } from './tenant-front';

export const FLEET_KINDS = ['directory', 'weavestream', 'loomio', 'dbackup', 'meshmonitor', 'nojoin'] as const;
export type FleetKind = (typeof FLEET_KINDS)[number];

export interface ManyFleetOptions {
  /** Installations of each kind (default 2). */
  perApp?: number;
  /** Instead of perApp: this many in all, shared out over the kinds (the first kinds get one more). */
  total?: number;
  /** Which kinds (default all six). */
  kinds?: readonly FleetKind[];
  /** Names: `<prefix><kind> <nnn>`; default "". */
  prefix?: string;
  /** Tags given round-robin, so the fleet view has groups to show (default two customers and production/staging). */
  tags?: (kind: FleetKind, index: number) => string[];
}

export interface ManyFleet {
  /** The one sshd every SSH installation logs in to. */
  sshd: TestSshd;
  /** The HTTPS front of each HTTPS app. */
  fronts: Partial<Record<'meshmonitor' | 'nojoin', TenantFront>>;
  dbackup?: FakeDbackup;
  /** What to pass to `installations:add` for each (secrets included), in kind order. */
  inputs: InstallationInput[];
  stop(): Promise<void>;
}

const defaultTags = (_kind: FleetKind, index: number): string[] => [index % 3 === 0 ? 'customer A' : index % 3 === 1 ? 'customer B' : 'internal', index % 4 === 0 ? 'staging' : 'production'];

/** Starts the seeds and the copies; nothing is added to a core (see `addAll`). */
export async function startManyFleet(options: ManyFleetOptions = {}): Promise<ManyFleet> {
  const kinds = options.kinds ?? FLEET_KINDS;
  const countOf = (kind: FleetKind): number =>
    options.total === undefined ? (options.perApp ?? 2) : Math.floor(options.total / kinds.length) + (kinds.indexOf(kind) < options.total % kinds.length ? 1 : 0);
  const tagsOf = options.tags ?? defaultTags;
  const prefix = options.prefix ?? '';
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  const inputs: InstallationInput[] = [];
  const fronts: ManyFleet['fronts'] = {};
  let dbackup: FakeDbackup | undefined;
  const sshd = await startSshd();
  cleanups.push(() => sshd.stop());
  try {
    const ssh = { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key' as const, keyFile: sshd.clientKeyPath, hostKeySha256: sshd.hostKeyFingerprint };
    const name = (kind: FleetKind, i: number): string => `${prefix}${kind} ${String(i + 1).padStart(3, '0')}`;
    const common = (kind: FleetKind, i: number) => ({ name: name(kind, i), tags: tagsOf(kind, i), expectedCadenceHours: 24 });
    // Copies of one seeded folder, each its own path in the sshd user's home.
    const scratch = await mkdtemp(path.join(sshd.homeDir, `many-${process.pid}-`));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    await runTool('chown', [`${sshd.user}:`, scratch]);
    const copyOf = async (from: string, label: string, i: number): Promise<string> => {
      const to = path.join(scratch, `${label}-${String(i + 1).padStart(3, '0')}`);
      await runTool('cp', ['-a', from, to]);
      return to;
    };

    /** perApp SSH installations of a seed, each with its own copy of the seed's folder as `setting`. */
    const copies = async (kind: FleetKind, seed: InstallationInput, seedDir: string, setting: string): Promise<void> => {
      for (let i = 0; i < countOf(kind); i++) inputs.push({ ...seed, ...common(kind, i), ssh, settings: { ...seed.settings, [setting]: await copyOf(seedDir, kind, i) } });
    };

    for (const kind of kinds) {
      const perApp = countOf(kind);
      if (perApp === 0) continue;
      if (kind === 'directory') {
        const seed: DirectoryFleet = await startDirectoryFleet({ sshd });
        cleanups.push(() => seed.stop());
        await copies(kind, seed.installation, seed.folder, 'directory');
      } else if (kind === 'weavestream') {
        // One real Weavestream (PostgreSQL, dumps with manifests); the copies share its database.
        const seed: WeavestreamFleet = await startWeavestreamFleet({ name: 'seed' });
        cleanups.push(() => seed.stop());
        await copies(kind, seed.installation, seed.composeDir, 'composeDir');
      } else if (kind === 'loomio') {
        const seed: LoomioFleet = await startLoomioFleet({ name: 'seed' });
        cleanups.push(() => seed.stop());
        await copies(kind, seed.installation, seed.stackDir, 'stackDir');
      } else if (kind === 'dbackup') {
        // One fake DBackup API: each installation its own storage (a copied destination) and API key.
        const seed: DbackupFleet = await startDbackupFleet({ sshd });
        cleanups.push(() => seed.stop());
        const storages = [];
        for (let i = 0; i < perApp; i++) storages.push({ id: `cmstorage${String(i + 1).padStart(5, '0')}`, name: `Storage ${i + 1}`, rootDir: await copyOf(seed.destinationDir, 'dbackup', i) });
        const api = await startFakeDbackup({ storages, profiles: { [seed.profileId]: seed.keyHex } });
        dbackup = api;
        cleanups.push(() => api.stop());
        storages.forEach((storage, i) => {
          inputs.push({
            ...common(kind, i),
            app: 'dbackup',
            https: { baseUrl: api.url, auth: 'bearer', pinnedCertSha256: api.certSha256 },
            settings: { storageIds: storage.id },
            secrets: { 'api-token': api.issueKey(name(kind, i), ALL_PERMISSIONS) },
          });
        });
      } else if (kind === 'meshmonitor') {
        const front = await startTenantFront('meshmonitor-front');
        fronts.meshmonitor = front;
        cleanups.push(() => front.stop());
        for (let i = 0; i < perApp; i++) {
          const dataDir = await mkdtemp(path.join(scratch, 'meshmonitor-'));
          await mkdir(path.join(dataDir, 'system-backups'));
          const password = `mm-${randomBytes(6).toString('hex')}`;
          const fake: MeshMonitorHandle = await startMeshMonitor({ dataDir, adminPassword: password, production: false, seedArchive: null });
          cleanups.push(() => fake.stop());
          const tenant = front.add(fake.url);
          inputs.push({
            ...common(kind, i),
            app: 'meshmonitor',
            https: { baseUrl: front.urlOf(tenant), auth: 'password', username: 'admin', pinnedCertSha256: front.certSha256 },
            settings: {},
            secrets: { 'https-password': password },
          });
        }
      } else {
        const front = await startTenantFront('nojoin-front');
        fronts.nojoin = front;
        cleanups.push(() => front.stop());
        for (let i = 0; i < perApp; i++) {
          const password = `nj-${randomBytes(6).toString('hex')}`;
          const username = `operator${i + 1}`;
          const fake: NojoinFakeHandle = await startNojoin({ seedArchive: null, accounts: [{ username, password, isSuperuser: true }] });
          cleanups.push(() => fake.stop());
          const tenant = front.add(fake.url);
          inputs.push({
            ...common(kind, i),
            app: 'nojoin',
            https: { baseUrl: front.urlOf(tenant), auth: 'password', username, pinnedCertSha256: front.certSha256 },
            settings: {},
            secrets: { 'https-password': password },
          });
        }
      }
    }
    return { sshd, fronts, ...(dbackup ? { dbackup } : {}), inputs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
