import { InstallationSelect } from '../../components/installation-select';
import { useCallback, useRef, useState, type DragEvent, type ReactNode } from 'react';
import { toErrorPayload, type ErrorPayload } from '../../../shared/errors';
import { ErrorMessage } from '../../components/error-message';
import { api, pathForFile, transportKind, uploadFile } from '../../lib/api';
import { formatBytes, formatRelative } from '../../lib/format';
import { useNow } from '../../lib/use-now';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { importedSnapshotOf, startVaultJob, useNewestJobs } from './vault-jobs';

/** A dropped file on its way to becoming an import job. */
interface PendingUpload {
  key: string;
  name: string;
  size: number;
  state: 'uploading' | 'failed';
  error?: ErrorPayload;
}

/** Imports finished longer ago than this drop off the panel (they stay on the Activity page). */
const RECENT_MS = 60 * 60 * 1000;

let uploadSeq = 0;

/** Where the core reads a file from: its local path in Electron, else an upload to the twin's staging. */
async function sourceOf(file: File): Promise<{ path: string } | { uploadId: string; name: string }> {
  const localPath = transportKind() === 'bridge' ? pathForFile(file) : null;
  return localPath ? { path: localPath } : uploadFile(file).then((u) => ({ uploadId: u.uploadId, name: u.name }));
}

/**
 * Adds files to the vault: Electron passes the local path; the browser twin uploads the bytes
 * first. Files dropped together are paired by the core (an archive with its manifest, .meta.json
 * or .sha256 becomes one snapshot); a sidecar without its archive is refused by name. Each
 * archive becomes its own import job; the snapshot list updates on `vault:changed`.
 */
export function useArchiveImport(): { add: (files: File[], installationId: string | null, allowUnverified?: boolean) => void; pending: PendingUpload[]; dismiss: (key: string) => void } {
  const [pending, setPending] = useState<PendingUpload[]>([]);

  const importOne = useCallback(async (file: File, sidecars: File[], installationId: string | null, allowUnverified: boolean): Promise<void> => {
    const key = `upload-${++uploadSeq}`;
    setPending((list) => [...list, { key, name: file.name, size: file.size, state: 'uploading' }]);
    try {
      const [source, ...sidecarSources] = await Promise.all([file, ...sidecars].map(sourceOf));
      await startVaultJob(api.call('vault:import', { source: source!, sidecars: sidecarSources, allowUnverified, ...(installationId ? { installationId } : {}) }));
      setPending((list) => list.filter((p) => p.key !== key));
    } catch (error) {
      setPending((list) => list.map((p) => (p.key === key ? { ...p, state: 'failed', error: toErrorPayload(error) } : p)));
    }
  }, []);

  const add = useCallback(
    (files: File[], installationId: string | null, allowUnverified = false) => {
      // One after another: uploads share one link, and the core queues vault writes anyway.
      const run = async (): Promise<void> => {
        const byName = new Map(files.map((f) => [f.name, f]));
        const pairing = await api.call('apps:pair-files', { names: [...byName.keys()] });
        for (const lone of pairing.loneSidecars) {
          const message = `${lone.name} is a sidecar of ${lone.archive}, not an archive: drop it together with ${lone.archive}.`;
          setPending((list) => [...list, { key: `upload-${++uploadSeq}`, name: lone.name, size: byName.get(lone.name)?.size ?? 0, state: 'failed', error: { code: 'INVALID_INPUT', message } }]);
        }
        for (const archive of pairing.archives) await importOne(byName.get(archive.name)!, archive.sidecars.map((n) => byName.get(n)!), installationId, allowUnverified);
      };
      run().catch((error: unknown) => setPending((list) => [...list, { key: `upload-${++uploadSeq}`, name: files.map((f) => f.name).join(', '), size: 0, state: 'failed', error: toErrorPayload(error) }]));
    },
    [importOne],
  );
  const dismiss = useCallback((key: string) => setPending((list) => list.filter((p) => p.key !== key)), []);
  return { add, pending, dismiss };
}

/**
 * The whole open-vault page is a drop target: files dropped anywhere on it are imported. The
 * overlay only shows while files (not text or links) are dragged over it.
 */
export function ArchiveDropZone(props: { onFiles: (files: File[]) => void; children: ReactNode }): ReactNode {
  const [depth, setDepth] = useState(0);
  const carriesFiles = (event: DragEvent): boolean => event.dataTransfer.types.includes('Files');

  return (
    <div
      className={`vault-drop${depth > 0 ? ' vault-drop-active' : ''}`}
      onDragEnter={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDepth((d) => d + 1);
      }}
      onDragOver={(event) => {
        if (!carriesFiles(event)) return;
        // Without preventDefault the browser would open the file instead of dropping it here.
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(event) => {
        if (carriesFiles(event)) setDepth((d) => Math.max(0, d - 1));
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDepth(0);
        const files = [...event.dataTransfer.files];
        if (files.length > 0) props.onFiles(files);
      }}
    >
      {props.children}
      {depth > 0 ? (
        <div className="drop-overlay vault-drop-overlay" aria-hidden="true">
          <div>Drop archives to add them to the vault</div>
        </div>
      ) : null}
    </div>
  );
}

/** "Add archive…" for keyboard users, the optional installation, and the imports under way. */
export function ImportPanel(props: {
  importer: ReturnType<typeof useArchiveImport>;
  installationId: string;
  onInstallationChange: (id: string) => void;
  allowUnverified: boolean;
  onAllowUnverifiedChange: (allow: boolean) => void;
}): ReactNode {
  const { importer } = props;
  const inputRef = useRef<HTMLInputElement>(null);
  const installations = useStore((s) => s.fleet.installations);
  const now = useNow();
  const jobs = useNewestJobs('vault-import', 5).filter((job) => job.status === 'running' || job.status === 'queued' || now - Date.parse(job.createdAt) < RECENT_MS);

  return (
    <section className="card vault-import" aria-labelledby="vault-import-h">
      <div className="vault-section-head">
        <h2 id="vault-import-h">Add archives</h2>
        <span className="muted">Drop backup files anywhere on this page, or choose them.</span>
        <span className="spacer" />
        <label className="vault-inline-field">
          <span>For installation</span>
          <InstallationSelect installations={installations ?? []} value={props.installationId} onChange={props.onInstallationChange} noneLabel="None (a local import)" />
        </label>
        <label className="vault-inline-field" title="Lifeboat checks every archive with its app's rules before it enters the vault. A file it cannot check (no app recognises it, no checksum came with it) or that fails is refused unless you tick this.">
          <input type="checkbox" checked={props.allowUnverified} onChange={(e) => props.onAllowUnverifiedChange(e.target.checked)} />
          <span>Also store what cannot be verified (marked unverified)</span>
        </label>
        <button type="button" className="button button-primary" onClick={() => inputRef.current?.click()}>
          Add archive…
        </button>
        <input
          ref={inputRef}
          type="file"
          multiple
          hidden
          aria-label="Archive files to add"
          onChange={(event) => {
            const files = [...(event.target.files ?? [])];
            // Reset so choosing the same file again fires another change.
            event.target.value = '';
            if (files.length > 0) importer.add(files, props.installationId || null, props.allowUnverified);
          }}
        />
      </div>
      {importer.pending.length > 0 || jobs.length > 0 ? (
        <ul className="stacked-list vault-import-list" aria-label="Imports">
          {importer.pending.map((p) => (
            <li key={p.key}>
              {p.state === 'uploading' ? (
                <span role="status">
                  Uploading <strong>{p.name}</strong> ({formatBytes(p.size)}) to the core…
                </span>
              ) : (
                <div className="vault-import-failed">
                  <ErrorMessage error={p.error} title={`Could not add ${p.name}:`} />
                  <button type="button" className="button button-small" onClick={() => importer.dismiss(p.key)}>
                    Dismiss
                  </button>
                </div>
              )}
            </li>
          ))}
          {jobs.map((job) => {
            const snapshotId = importedSnapshotOf(job);
            return (
              <li key={job.id}>
                <JobSummary job={job} note={snapshotId ? `→ snapshot ${snapshotId.slice(0, 8)} · ${formatRelative(job.finishedAt ?? job.createdAt, now)}` : null} />
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
