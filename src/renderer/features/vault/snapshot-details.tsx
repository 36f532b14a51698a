import { useEffect, useState, type ReactNode } from 'react';
import { TextWithTimes, When } from '../../components/when';
import type { CommandOutput } from '../../../shared/contract';
import type { SnapshotView } from '../../../shared/vault';
import { ErrorMessage } from '../../components/error-message';
import { Pill } from '../../components/pill';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { useStore } from '../../stores/store';
import { SOURCE_LOOK, appLabel } from './snapshot-labels';
import { SnapshotActions } from './snapshot-actions';
import { SnapshotDrill } from './snapshot-drill';

type FileList = CommandOutput<'vault:snapshot-files'>;

/** Everything about one snapshot: where from, tags, paths, archive, sidecars, and its files. */
export function SnapshotDetails(props: { snapshot: SnapshotView }): ReactNode {
  const { snapshot } = props;
  const revision = useStore((s) => s.vault.revision);
  const modules = useStore((s) => s.system.modules);
  const [files, setFiles] = useState<{ id: string; list: FileList } | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    api
      .call('vault:snapshot-files', { snapshotId: snapshot.id })
      .then((list) => current && setFiles({ id: snapshot.id, list }))
      .catch((e: unknown) => current && setError(e));
    // A later selection or vault change makes this answer stale: drop it when it arrives.
    return () => {
      current = false;
    };
  }, [snapshot.id, revision]);

  const look = SOURCE_LOOK[snapshot.source];
  const list = files?.id === snapshot.id ? files.list : null;
  return (
    <article className="vault-details" aria-label={`Snapshot ${snapshot.shortId}`}>
      <h3>
        {snapshot.archive?.name ?? `Snapshot ${snapshot.shortId}`} <Pill tone={look.tone}>{look.label}</Pill>
        {snapshot.unverified ? <Pill tone="warn" title="Stored although Lifeboat could not verify it (you asked for it): check it before you trust it.">unverified</Pill> : null}
      </h3>
      {/* Keyed: a confirmation or drill started on one snapshot does not follow the selection to another. */}
      <SnapshotActions key={snapshot.id} snapshot={snapshot} />
      <SnapshotDrill key={`drill-${snapshot.id}`} snapshot={snapshot} />
      <dl className="facts vault-details-facts">
        <dt>Snapshot</dt>
        <dd>
          <code>{snapshot.id}</code>
        </dd>
        <dt>Backup made</dt>
        <dd><When iso={snapshot.time} /></dd>
        <dt>Stored in the vault</dt>
        <dd><When iso={snapshot.storedAt} /></dd>
        <dt>Installation</dt>
        <dd>
          {snapshot.hostname}
          {snapshot.installationId ? <span className="muted"> ({snapshot.installationId})</span> : null}
        </dd>
        <dt>App</dt>
        <dd>{appLabel(snapshot.app, modules)}</dd>
        <dt>Source</dt>
        <dd>{look.title}</dd>
        {snapshot.remoteId ? (
          <>
            <dt>Backup id on the app</dt>
            <dd>
              <code>{snapshot.remoteId}</code>
            </dd>
          </>
        ) : null}
        <dt>Archive</dt>
        <dd>{snapshot.archive ? `${snapshot.archive.name} (${formatBytes(snapshot.archive.size)})` : 'none'}</dd>
        <dt>Sidecars</dt>
        <dd>{snapshot.sidecars.length ? snapshot.sidecars.map((s) => `${s.name} (${formatBytes(s.size)})`).join(', ') : 'none'}</dd>
        <dt>Tags</dt>
        <dd className="vault-tags">
          {snapshot.tags.map((tag) => (
            // The tag as restic stores it is on hover; a time in it reads like every other time.
            <code key={tag} className="vault-tag" title={tag}>
              <TextWithTimes text={tag} />
            </code>
          ))}
        </dd>
        <dt>Paths</dt>
        <dd>
          {snapshot.paths.map((p) => (
            <code key={p}>{p} </code>
          ))}
        </dd>
      </dl>
      <h4>Files</h4>
      {error ? <ErrorMessage error={error} title="Could not list the files." /> : null}
      {!list && !error ? <p className="muted" role="status">Loading files…</p> : null}
      {list ? (
        <table className="data-table" aria-label="Files in the snapshot">
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Modified</th>
            </tr>
          </thead>
          <tbody>
            {list.map((f) => (
              <tr key={f.path}>
                <td className="wrap-anywhere">
                  <code>{f.path}</code>
                  {f.type !== 'file' ? <span className="muted"> ({f.type})</span> : null}
                </td>
                <td className="num">{f.type === 'file' ? formatBytes(f.size) : ''}</td>
                <td><When iso={f.mtime} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </article>
  );
}
