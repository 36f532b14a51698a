/**
 * The app modules Lifeboat has. Adding an app is a folder `src/main/apps/<app>/` and one line in
 * `APP_MODULES`; everything generic asks an `AppRegistry` (which the core receives, so a test can
 * hand it modules of its own).
 */
import type { AppModuleInfo, FilePairing } from '../../shared/apps';
import { LifeboatError } from '../../shared/errors';
import type { ArchiveAccess } from './adapter';
import type { AppModule, ArchiveProbe, Detection } from './module';
import { meshMonitorModule } from './meshmonitor';
import { nojoinModule } from './nojoin';
import { weavestreamModule } from './weavestream';
import { directoryModule } from './directory';
import { dbackupModule } from './dbackup';
import { loomioModule } from './loomio';

/** Every module, in the order the installation form lists them. */
export const APP_MODULES: readonly AppModule[] = [weavestreamModule, meshMonitorModule, nojoinModule, loomioModule, dbackupModule, directoryModule];

const PROBE_BYTES = 64 * 1024;

/** The modules of one core, by kind. */
export class AppRegistry {
  private readonly byKind: Map<string, AppModule>;

  constructor(modules: readonly AppModule[] = APP_MODULES) {
    this.byKind = new Map(modules.map((m) => [m.kind, m]));
  }

  /** The module of an app kind; APP_UNSUPPORTED when Lifeboat has none. */
  get(kind: string): AppModule {
    const module = this.byKind.get(kind);
    if (!module) throw new LifeboatError('APP_UNSUPPORTED', `Lifeboat has no module for the app kind "${kind}" (it knows ${this.kinds().join(', ')}).`, { details: { app: kind } });
    return module;
  }

  has(kind: string): boolean {
    return this.byKind.has(kind);
  }

  kinds(): string[] {
    return [...this.byKind.keys()];
  }

  list(): AppModule[] {
    return [...this.byKind.values()];
  }

  label(kind: string): string {
    return this.byKind.get(kind)?.label ?? kind;
  }

  /** What the UI and the CLI show of each module. */
  info(): AppModuleInfo[] {
    return this.list().map((m) => ({ kind: m.kind, label: m.label, summary: m.summary, transports: [...m.transports], settings: m.settings.fields, secretSlots: m.secretSlots, keyFile: m.keyFile ? { label: m.keyFile.label } : null, drill: m.drill !== undefined }));
  }

  /**
   * Groups file names as their modules pair them: each archive with its sidecars; a sidecar whose
   * archive is not among the names is lone (it cannot be stored or read on its own).
   */
  pairFiles(names: string[]): FilePairing {
    const sidecarOf = (name: string): string | null => {
      for (const module of this.list()) {
        const archive = module.sidecarOf?.(name);
        if (archive) return archive;
      }
      return null;
    };
    const archives = new Map<string, string[]>();
    const lone: FilePairing['loneSidecars'] = [];
    for (const name of names) if (sidecarOf(name) === null) archives.set(name, []);
    for (const name of names) {
      const archive = sidecarOf(name);
      if (archive === null) continue;
      if (archives.has(archive)) archives.get(archive)!.push(name);
      else lone.push({ name, archive });
    }
    return { archives: [...archives].map(([name, sidecars]) => ({ name, sidecars })), loneSidecars: lone };
  }

  /** Asks every module about the archive's first bytes and sidecars; the most confident claim wins. */
  async detect(archive: ArchiveAccess): Promise<{ module: AppModule; detection: Detection }> {
    const probe = await probeOf(archive);
    let best: { module: AppModule; detection: Detection } | null = null;
    for (const module of this.list()) {
      const detection = module.detect(probe);
      if (detection && detection.confidence > (best?.detection.confidence ?? 0)) best = { module, detection };
    }
    if (!best) throw new LifeboatError('APP_UNSUPPORTED', `Lifeboat cannot tell which app made "${archive.fileName}": its contents match none of ${this.list().map((m) => m.label).join(', ')}. Choose the app if you know it.`);
    return best;
  }
}

async function probeOf(archive: ArchiveAccess): Promise<ArchiveProbe> {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = await archive.open();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= PROBE_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return { fileName: archive.fileName, size: archive.size, head: Buffer.concat(chunks).subarray(0, PROBE_BYTES), sidecars: archive.sidecars };
}
