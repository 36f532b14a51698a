import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../../shared/errors';
import type { AppKind, Installation } from '../../shared/installations';
import type {
  CheckReportView,
  ForgetPreview,
  RetentionPolicyInput,
  SnapshotSource,
  SnapshotView,
  VaultLockView,
  VaultStats,
  VaultStatus,
} from '../../shared/vault';
import type { AuditLog } from '../audit/audit-log';
import type { EventBus } from '../events/event-bus';
import type { HomeLayout } from '../home';
import { vaultAccount, type SecretStore } from '../installations/secrets';
import type { JobContext } from '../jobs/job-manager';
import { Vault, type FileInfoEntry, type Sidecar, type WholeDigests } from '../vault';
import { applyPolicy, describeDecision } from '../vault/retention';
import { backendFor } from './backend-for';
import { snapshotTags, toSnapshotView } from './snapshot-view';
import { VaultConfigFile, type VaultConfig } from './vault-config';

/** What an archive added to the vault is, for labels and retention grouping. */
/** What verifying an import decided: the app it is, and why it is stored unverified (null: verified). */
export interface ImportVerdict {
  app: AppKind | null;
  unverified: string | null;
}

export interface ArchiveOrigin {
  installation: Pick<Installation, 'id' | 'name' | 'app'> | null;
  app: AppKind | null;
  source: SnapshotSource;
  /** The app's id of this backup (MeshMonitor dirname, dump file name…). */
  remoteId?: string | null;
  /** Stable per installation (the remote backup folder), so retention groups per installation. */
  groupPath: string;
  /**
   * Why the archive is stored without passing verification (the operator asked): tagged
   * `unverified`. Read after `beforeSnapshot`, which may be what decides it.
   */
  unverified?: () => string | null;
}

export interface AddToVaultOptions {
  input: Readable;
  fileName: string;
  size?: number;
  /** The archive's own time: when the app made it; the snapshot's time (never later than now). */
  mtime: Date;
  /** Sidecars, or a function called after the archive's last byte (see the vault's AddArchiveOptions). */
  sidecars?: Sidecar[] | (() => Sidecar[]);
  origin: ArchiveOrigin;
  ctx: Pick<JobContext, 'signal' | 'progress'>;
  /** Checks the whole archive before a snapshot is made (see the vault's AddArchiveOptions). */
  beforeSnapshot?: (archive: WholeDigests) => Promise<void>;
  /** Also the archive's MD5 for `beforeSnapshot`, hashed on the vault's seal worker (see the vault's AddArchiveOptions). */
  wholeMd5?: boolean;
}

/** How long an upload stays staged for the preview, restore or import it was made for. */
const STAGED_KEPT_MS = 24 * 3600 * 1000;

/** A sidecar is small: one larger than this is refused by name rather than stored. */
const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

async function readSidecar(file: string, name: string): Promise<Buffer> {
  const info = await stat(file).catch((error: unknown) => {
    throw new LifeboatError('NOT_FOUND', `Cannot read the sidecar ${name}: ${(error as Error).message}.`, { cause: error });
  });
  if (info.size > MAX_SIDECAR_BYTES) throw new LifeboatError('ARCHIVE_INVALID', `${name} is ${info.size} bytes: too large for a sidecar (at most ${MAX_SIDECAR_BYTES}).`);
  return readFile(file);
}

/**
 * The core's vault: which repository, its password in the keychain, the recovery kit, and the
 * jobs that read and change it. The restic format itself lives in src/main/vault.
 */
export class VaultService {
  private vault: Vault | null = null;
  private filesCache = new Map<string, FileInfoEntry[]>();
  private readonly configFile: VaultConfigFile;

  constructor(
    private readonly home: HomeLayout,
    private readonly secrets: () => SecretStore,
    private readonly events: EventBus,
    private readonly audit: AuditLog,
  ) {
    this.configFile = VaultConfigFile.in(home.root);
  }

  async status(): Promise<VaultStatus> {
    const config = await this.configFile.read();
    if (!config) {
      return { initialized: false, open: false, location: null, id: null, passwordStored: false, recoveryKitAcknowledged: false, snapshotCount: null };
    }
    const passwordStored = (await this.secrets().get(vaultAccount(config.id))) !== null;
    if (!this.vault && passwordStored) await this.tryOpen(config);
    return {
      initialized: true,
      open: this.vault !== null,
      location: config.location,
      id: config.id,
      passwordStored,
      recoveryKitAcknowledged: config.recoveryKitAcknowledged,
      snapshotCount: this.vault ? (await this.vault.listSnapshots()).length : null,
    };
  }

  /** Creates the vault with a random 256-bit password that goes to the keychain, never to disk. */
  async init(location = this.home.vaultDir): Promise<VaultStatus> {
    if (await this.configFile.read()) throw new LifeboatError('ALREADY_EXISTS', `Lifeboat already has a vault (see ${this.configFile.file}).`);
    const password = randomBytes(32).toString('base64url');
    const backend = backendFor(location);
    // Store the password first: a vault whose password was lost at birth would be useless.
    const probeAccount = vaultAccount(`pending-${randomBytes(8).toString('hex')}`);
    await this.secrets().set(probeAccount, password);
    let vault: Vault;
    try {
      vault = await Vault.init(backend, password);
      await this.secrets().set(vaultAccount(vault.id), password);
    } finally {
      await this.secrets().delete(probeAccount);
    }
    await this.configFile.write({ location, id: vault.id, createdAt: new Date().toISOString(), recoveryKitAcknowledged: false });
    this.vault = vault;
    await this.audit.record({ action: 'vault-init', outcome: 'succeeded', detail: vault.location });
    this.changed('vault created');
    return this.status();
  }

  /** Opens the vault with a password the operator typed (e.g. from the recovery kit). */
  async unlock(password: string, remember: boolean): Promise<VaultStatus> {
    const config = await this.requireConfig();
    const vault = await Vault.open(backendFor(config.location), password);
    if (vault.id !== config.id) {
      throw new LifeboatError('VAULT_CORRUPT', `The repository at ${config.location} has id ${vault.id.slice(0, 8)}, not the vault ${config.id.slice(0, 8)} Lifeboat was set up with.`);
    }
    if (remember) await this.secrets().set(vaultAccount(config.id), password);
    this.vault = vault;
    this.changed('vault unlocked');
    return this.status();
  }

  /** What the recovery kit carries of the vault: id, where it is, its password. */
  async recoveryFacts(): Promise<{ id: string; location: string; password: string; createdAt: string }> {
    const config = await this.requireConfig();
    const password = await this.secrets().get(vaultAccount(config.id));
    if (!password) throw new LifeboatError('SECRET_REQUIRED', 'The vault is locked: unlock it first.', { details: { purpose: 'vault-password' } });
    return { id: config.id, location: config.location.startsWith('rest:') ? config.location : path.resolve(config.location), password, createdAt: config.createdAt };
  }

  /**
   * Takes over a vault named by a recovery kit on a Lifeboat that has none: opens it at its
   * location with its password, then keeps both (the password in the keychain). A Lifeboat that
   * already has this vault only learns the password; one with another vault is left alone.
   */
  async adopt(facts: { id: string; location: string; password: string; createdAt: string }): Promise<{ outcome: 'adopted' | 'unlocked' | 'other-vault' | 'unreachable'; detail: string }> {
    const config = await this.configFile.read();
    if (config && config.id !== facts.id) return { outcome: 'other-vault', detail: `This Lifeboat already has vault ${config.id.slice(0, 8)}; the kit's vault ${facts.id.slice(0, 8)} was not opened.` };
    if (config) {
      await this.unlock(facts.password, true);
      return { outcome: 'unlocked', detail: `Vault ${facts.id.slice(0, 8)} opened with the kit's password.` };
    }
    let vault: Vault;
    try {
      vault = await Vault.open(backendFor(facts.location), facts.password);
    } catch (error) {
      return { outcome: 'unreachable', detail: `The vault ${facts.id.slice(0, 8)} was not found at ${facts.location} (${(error as Error).message}); the kit gives its password for restic or for a later import.` };
    }
    if (vault.id !== facts.id) return { outcome: 'unreachable', detail: `The repository at ${facts.location} is ${vault.id.slice(0, 8)}, not the kit's vault ${facts.id.slice(0, 8)}.` };
    await this.secrets().set(vaultAccount(vault.id), facts.password);
    await this.configFile.write({ location: facts.location, id: vault.id, createdAt: facts.createdAt, recoveryKitAcknowledged: true });
    this.vault = vault;
    await this.audit.record({ action: 'vault-init', outcome: 'succeeded', detail: `taken over from a recovery kit: ${vault.location}` });
    this.changed('vault taken over from a recovery kit');
    return { outcome: 'adopted', detail: `Vault ${vault.id.slice(0, 8)} at ${facts.location} is now this Lifeboat's vault.` };
  }

  async recoveryKit(): Promise<{ fileName: string; text: string }> {
    const config = await this.requireConfig();
    const { password, location: repository } = await this.recoveryFacts();
    const text = [
      'LIFEBOAT VAULT RECOVERY KIT',
      '',
      'Keep this file somewhere safe and offline (a password manager, a printout in a drawer).',
      'Anyone with it can read every backup in the vault.',
      '',
      `Vault id:  ${config.id}`,
      `Location:  ${repository}`,
      `Password:  ${password}`,
      `Created:   ${config.createdAt}`,
      `Made by:   Lifeboat on ${os.hostname()}`,
      '',
      'The vault is a standard restic repository (format 2). To open it without Lifeboat,',
      'install restic (0.14 or newer) and run:',
      '',
      `  export RESTIC_REPOSITORY='${repository}'`,
      `  export RESTIC_PASSWORD='${password}'`,
      '  restic snapshots                                   # every archive, by installation',
      '  restic ls latest                                   # the files of the newest snapshot',
      '  restic dump <snapshot-id> /<archive-file> > file   # one archive back out',
      '  restic restore <snapshot-id> --target ./restored   # everything of a snapshot',
      '  restic check --read-data                           # verify every byte',
      '',
      'To move it elsewhere: restic copy, or copy the folder as it is.',
      '',
    ].join('\n');
    return { fileName: `lifeboat-recovery-kit-${config.id.slice(0, 8)}.txt`, text };
  }

  async acknowledgeRecoveryKit(): Promise<VaultStatus> {
    const config = await this.requireConfig();
    await this.configFile.write({ ...config, recoveryKitAcknowledged: true });
    return this.status();
  }

  async snapshots(filter: { installationId?: string; app?: string; tag?: string; since?: string; until?: string } = {}): Promise<SnapshotView[]> {
    const vault = await this.open();
    const infos = await vault.listSnapshots();
    const views: SnapshotView[] = [];
    for (const info of infos) {
      let files = this.filesCache.get(info.id);
      if (!files) {
        files = await vault.listFiles(info.id);
        this.filesCache.set(info.id, files);
      }
      views.push(toSnapshotView(info, files));
    }
    const since = filter.since ? Date.parse(filter.since) : -Infinity;
    const until = filter.until ? Date.parse(filter.until) : Infinity;
    return views
      .filter((v) => !filter.installationId || v.installationId === filter.installationId)
      .filter((v) => !filter.app || v.app === filter.app)
      .filter((v) => !filter.tag || v.tags.includes(filter.tag))
      .filter((v) => Date.parse(v.time) >= since && Date.parse(v.time) <= until)
      .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  }

  async snapshotFiles(snapshotId: string): Promise<FileInfoEntry[]> {
    const vault = await this.open();
    return vault.listFiles(await vault.findSnapshot(snapshotId));
  }

  /** Streams one file of a snapshot back out, every blob verified. */
  async dump(snapshotId: string, filePath: string, ctx?: Pick<JobContext, 'signal' | 'progress'>): Promise<Readable> {
    const vault = await this.open();
    return vault.dumpFile(await vault.findSnapshot(snapshotId), filePath, ctx ? { signal: ctx.signal, onProgress: (p) => ctx.progress(p) } : {});
  }

  async stats(): Promise<VaultStats> {
    const sizes = await (await this.open()).sizes();
    return { snapshots: sizes.snapshots, logicalBytes: sizes.logicalSize, storedBytes: sizes.storedSize, dedupRatio: sizes.storedSize > 0 ? sizes.dedupRatio : null };
  }

  /** Adds one archive (and its sidecars) as one snapshot. Nothing partial is ever visible. */
  async addArchive(options: AddToVaultOptions): Promise<{ snapshotId: string; sha256: string; size: number; addedBytes: number }> {
    const vault = await this.open();
    const { origin } = options;
    const storedAt = new Date();
    // A clock that is ahead on the server must not make a backup look newer than the moment it was stored.
    const time = Number.isFinite(options.mtime.getTime()) && options.mtime <= storedAt ? options.mtime : storedAt;
    const result = await vault.addArchive({
      time,
      input: options.input,
      fileName: options.fileName,
      ...(options.size !== undefined ? { size: options.size } : {}),
      mtime: options.mtime,
      sidecars: options.sidecars ?? [],
      hostname: origin.installation?.name ?? 'local import',
      paths: [origin.groupPath],
      tags: () => snapshotTags({ app: origin.app, source: origin.source, installationId: origin.installation?.id ?? null, remoteId: origin.remoteId ?? null, storedAt, unverified: Boolean(origin.unverified?.()) }),
      signal: options.ctx.signal,
      onProgress: (p) => options.ctx.progress(p),
      ...(options.beforeSnapshot ? { beforeSnapshot: options.beforeSnapshot } : {}),
      ...(options.wholeMd5 ? { wholeMd5: true } : {}),
    });
    this.changed(`added ${options.fileName}`);
    return { snapshotId: result.snapshotId, sha256: result.sha256, size: result.size, addedBytes: result.addedBytes };
  }

  /** The import job: a local file (or a staged upload) becomes a snapshot. */
  async importFile(
    filePath: string,
    displayName: string,
    installation: Installation | null,
    ctx: JobContext,
    sidecarFiles: { file: string; name: string }[] = [],
    verify?: () => Promise<ImportVerdict>,
  ): Promise<{ snapshotId: string; sha256: string; size: number; unverified: string | null }> {
    const info = await stat(filePath).catch((error: unknown) => {
      throw new LifeboatError('NOT_FOUND', `Cannot read ${displayName}: ${(error as Error).message}.`, { cause: error });
    });
    if (!info.isFile()) throw new LifeboatError('INVALID_INPUT', `${displayName} is not a regular file.`);
    ctx.progress({ phase: 'adding to vault', bytes: 0, total: info.size });
    const sidecars = await Promise.all(sidecarFiles.map(async (s) => ({ name: s.name, content: await readSidecar(s.file, s.name) })));
    // The verdict comes after the vault read the bytes and before a snapshot exists: a failure leaves none.
    let verdict: ImportVerdict = { app: installation?.app ?? null, unverified: null };
    try {
      const result = await this.addArchive({
        input: createReadStream(filePath),
        fileName: path.basename(displayName),
        size: info.size,
        mtime: info.mtime,
        sidecars,
        origin: {
          installation,
          get app() {
            return installation?.app ?? verdict.app;
          },
          source: 'import',
          groupPath: installation ? `/imports/${installation.id}` : '/imports',
          unverified: () => verdict.unverified,
        },
        ctx,
        ...(verify
          ? {
              beforeSnapshot: async () => {
                ctx.progress({ phase: 'verifying' });
                verdict = await verify();
              },
            }
          : {}),
      });
      await this.audit.record({
        action: 'import',
        outcome: verdict.unverified ? 'succeeded-with-warnings' : 'succeeded',
        installationId: installation?.id,
        installationName: installation?.name,
        snapshotId: result.snapshotId,
        jobId: ctx.jobId,
        detail: verdict.unverified ? `${displayName} (stored UNVERIFIED: ${verdict.unverified})` : displayName,
      });
      return { ...result, unverified: verdict.unverified };
    } catch (error) {
      await this.audit.record({ action: 'import', outcome: ctx.signal.aborted ? 'cancelled' : 'failed', installationId: installation?.id, jobId: ctx.jobId, detail: `${displayName}: ${(error as Error).message}` });
      throw error;
    }
  }

  /** Checks the vault; with `readSubset`, reads only the packs it picks (rotating verification). */
  async check(readData: boolean, ctx: JobContext, readSubset?: (packs: { id: string; size: number }[]) => string[]): Promise<CheckReportView> {
    const vault = await this.open();
    const result = await vault.check({ readData, signal: ctx.signal, onProgress: (p) => ctx.progress(p), ...(readSubset ? { readSubset } : {}) });
    await this.audit.record({ action: 'check', outcome: 'succeeded', jobId: ctx.jobId, detail: result.ok ? `no problems${readData ? ' (all data read)' : ''}` : `${result.problems.length} problem(s)` });
    return { ok: result.ok, readData, problems: result.problems, stats: { ...result.stats } };
  }

  /**
   * Something that must outlive any retention policy (the last good snapshots before an
   * unacknowledged anomaly): snapshot id → why it is kept.
   */
  private retentionGuard: ((snapshots: SnapshotView[]) => Promise<Map<string, string>>) | null = null;

  setRetentionGuard(guard: (snapshots: SnapshotView[]) => Promise<Map<string, string>>): void {
    this.retentionGuard = guard;
  }

  async forgetPreview(policy: RetentionPolicyInput, installationId?: string): Promise<ForgetPreview> {
    const snapshots = await this.snapshots(installationId ? { installationId } : {});
    const result = applyPolicy(snapshots, policy, { groupBy: 'host,paths' });
    let keepCount = 0;
    let removeCount = 0;
    const groups = result.groups.map((group) => ({
      hostname: group.hostname,
      paths: group.paths,
      decisions: [
        ...group.keep.map((k) => {
          keepCount += 1;
          return { snapshot: k.snapshot, keep: true, reasons: [describeDecision(k)] };
        }),
        ...group.remove.map((r) => {
          removeCount += 1;
          return { snapshot: r.snapshot, keep: false, reasons: [describeDecision(r)] };
        }),
      ].sort((a, b) => Date.parse(b.snapshot.time) - Date.parse(a.snapshot.time)),
    }));
    const guarded = this.retentionGuard ? await this.retentionGuard(await this.snapshots()) : new Map<string, string>();
    for (const decision of groups.flatMap((g) => g.decisions)) {
      const reason = guarded.get(decision.snapshot.id);
      if (decision.keep || reason === undefined) continue;
      decision.keep = true;
      decision.reasons = [reason];
      keepCount += 1;
      removeCount -= 1;
    }
    return { groups, keepCount, removeCount };
  }

  async forget(policy: RetentionPolicyInput, installationId: string | undefined, prune: boolean, ctx: JobContext): Promise<{ removed: string[]; pruned: boolean }> {
    const preview = await this.forgetPreview(policy, installationId);
    const ids = preview.groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
    ctx.progress({ phase: `removing ${ids.length} snapshot(s)`, bytes: 0, total: null });
    ctx.passPointOfNoReturn('removing snapshot files');
    const { removed } = await (await this.open()).forgetSnapshots(ids);
    for (const id of removed) this.filesCache.delete(id);
    await this.audit.record({ action: 'forget', outcome: 'succeeded', installationId, jobId: ctx.jobId, detail: `removed ${removed.length} snapshot(s)` });
    this.changed('snapshots forgotten');
    if (prune) await this.prune(ctx);
    return { removed, pruned: prune };
  }

  /** Removes one snapshot the operator chose (restic forget of that id); its data stays until a prune. */
  async forgetSnapshot(snapshotId: string): Promise<{ removed: string }> {
    const vault = await this.open();
    const id = await vault.findSnapshot(snapshotId);
    const view = (await this.snapshots()).find((s) => s.id === id);
    const { removed } = await vault.forgetSnapshots([id]);
    if (!removed.includes(id)) throw new LifeboatError('NOT_FOUND', `Snapshot ${snapshotId} was already gone.`);
    this.filesCache.delete(id);
    const what = view?.archive ? ` (${view.archive.name})` : '';
    await this.audit.record({ action: 'forget', outcome: 'succeeded', ...(view?.installationId ? { installationId: view.installationId } : {}), detail: `removed snapshot ${id.slice(0, 8)}${what}, chosen by the operator` });
    this.changed(`snapshot ${id.slice(0, 8)} forgotten`);
    return { removed: id };
  }

  /** The archive of one snapshot, streamed back out (every blob verified), with its original file name. */
  async exportArchive(snapshotId: string, signal?: AbortSignal): Promise<{ name: string; size: number; stream: Readable }> {
    const vault = await this.open();
    const id = await vault.findSnapshot(snapshotId);
    const view = (await this.snapshots()).find((s) => s.id === id);
    if (!view?.archive) throw new LifeboatError('NOT_FOUND', `Snapshot ${snapshotId} holds no archive to export.`);
    const stream = await vault.dumpFile(id, `/${view.archive.name}`, signal ? { signal } : {});
    return { name: view.archive.name, size: view.archive.size, stream };
  }

  async prune(ctx: JobContext): Promise<{ bytesBefore: number; bytesAfter: number; abandonedWritesRemoved: number }> {
    const result = await (await this.open()).prune({ signal: ctx.signal, onProgress: (p) => ctx.progress(p) });
    const abandoned = result.abandonedWritesRemoved > 0 ? `, ${result.abandonedWritesRemoved} abandoned temp file(s) of killed writers removed` : '';
    await this.audit.record({ action: 'prune', outcome: 'succeeded', jobId: ctx.jobId, detail: `${result.packsDeleted} pack(s) deleted, ${result.packsRepacked} repacked${abandoned}` });
    this.changed('vault pruned');
    return { bytesBefore: result.bytesBefore, bytesAfter: result.bytesAfter, abandonedWritesRemoved: result.abandonedWritesRemoved };
  }

  async locks(): Promise<VaultLockView[]> {
    const locks = await (await this.open()).listLocks();
    return locks.map((lock) => ({
      id: lock.id,
      time: lock.time,
      exclusive: lock.exclusive,
      hostname: lock.hostname,
      username: lock.username,
      pid: lock.pid,
      stale: lock.stale,
      explanation: lock.stale
        ? `${lock.exclusive ? 'Exclusive' : 'Shared'} lock from ${lock.username}@${lock.hostname} (process ${lock.pid}) taken ${lock.time}: it is stale (older than 30 minutes without refresh, or its process on this machine is gone), so removing it is safe.`
        : `${lock.exclusive ? 'Exclusive' : 'Shared'} lock held by ${lock.username}@${lock.hostname} (process ${lock.pid}) since ${lock.time}: that program is probably still working; wait for it to finish.`,
    }));
  }

  async removeLock(lockId: string): Promise<VaultLockView[]> {
    const lock = (await this.locks()).find((l) => l.id === lockId);
    if (!lock) throw new LifeboatError('NOT_FOUND', `No lock ${lockId.slice(0, 8)} in the vault.`);
    if (!lock.stale) throw new LifeboatError('VAULT_LOCKED', `Lock ${lockId.slice(0, 8)} is not stale: ${lock.explanation}`);
    await (await this.open()).removeLock(lockId);
    await this.audit.record({ action: 'lock-removed', outcome: 'succeeded', detail: lock.explanation });
    return this.locks();
  }

  /** The open vault; opens it with the keychain's password, or says what is missing. */
  async open(): Promise<Vault> {
    if (this.vault) return this.vault;
    const config = await this.configFile.read();
    if (!config) throw new LifeboatError('VAULT_NOT_INITIALIZED', 'There is no vault yet: create one on the Vault page or with `lifeboat vault init`.');
    await this.tryOpen(config);
    if (!this.vault) {
      throw new LifeboatError('SECRET_REQUIRED', 'The vault is locked: unlock it with the password from your recovery kit.', { details: { purpose: 'vault-password' } });
    }
    return this.vault;
  }

  /**
   * Deletes staged uploads older than a day: a file staged for a preview stays for the restore or
   * import that may follow it, not for ever. Temp folders a module left (a process killed while
   * it verified an archive) go the same way.
   */
  async sweepStaged(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.home.stagingDir).catch(() => [] as string[])) {
      const file = path.join(this.home.stagingDir, name);
      const info = await stat(file).catch(() => null);
      if ((info?.isFile() || info?.isDirectory()) && now - info.mtimeMs > STAGED_KEPT_MS) {
        await rm(file, { force: true, recursive: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** Deletes a staged upload once it was imported or abandoned. */
  async discardStaged(file: string): Promise<void> {
    if (path.dirname(file) === this.home.stagingDir) await rm(file, { force: true });
  }

  private async tryOpen(config: VaultConfig): Promise<void> {
    const password = await this.secrets().get(vaultAccount(config.id));
    if (!password) return;
    this.vault = await Vault.open(backendFor(config.location), password);
  }

  private async requireConfig(): Promise<VaultConfig> {
    const config = await this.configFile.read();
    if (!config) throw new LifeboatError('VAULT_NOT_INITIALIZED', 'There is no vault yet: create one first.');
    return config;
  }

  private changed(reason: string): void {
    this.events.emit('vault:changed', { reason });
  }
}
