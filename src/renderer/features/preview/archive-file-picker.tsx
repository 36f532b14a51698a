import { useState, type DragEvent, type ReactNode } from 'react';
import type { ArchiveSourceRef } from '../../../shared/apps';
import { ErrorMessage } from '../../components/error-message';
import { pathForFile, uploadFile } from '../../lib/api';
import { formatBytes } from '../../lib/format';

/** A local archive chosen by the operator, ready to name in a command. */
export interface PickedFile {
  source: ArchiveSourceRef;
  name: string;
  size: number;
  /** Sidecars that came with it (staged with the upload, or lying beside the local file). */
  sidecarNames?: string[];
}

/**
 * A file input that also takes a dropped file. Electron hands the core the local path; the
 * browser twin uploads the bytes first and names the upload.
 */
export function ArchiveFilePicker(props: { label: string; onPicked: (file: PickedFile) => void }): ReactNode {
  const [over, setOver] = useState(false);
  const [uploading, setUploading] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const take = async (file: File): Promise<void> => {
    setError(null);
    const localPath = pathForFile(file);
    if (localPath) {
      props.onPicked({ source: { path: localPath }, name: file.name, size: file.size });
      return;
    }
    setUploading(file.name);
    try {
      const uploaded = await uploadFile(file);
      props.onPicked({ source: { uploadId: uploaded.uploadId, name: uploaded.name }, name: file.name, size: uploaded.size });
    } finally {
      setUploading(null);
    }
  };
  const pick = (file: File | undefined): void => {
    if (file) take(file).catch(setError);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>): void => {
    event.preventDefault();
    setOver(false);
    pick(event.dataTransfer.files[0]);
  };

  return (
    <div
      className={`drop-zone${over ? ' drop-zone-over' : ''}`}
      onDragEnter={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragOver={(e) => e.preventDefault()}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      data-testid="archive-drop-zone"
    >
      <label className="drop-zone-label">
        <span>{props.label}</span>
        <input type="file" onChange={(e) => pick(e.target.files?.[0])} disabled={uploading !== null} />
      </label>
      <span className="muted">or drop an archive here</span>
      {uploading ? (
        <p className="muted" role="status">
          Sending {uploading} to Lifeboat…
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} title="Could not read that file." /> : null}
    </div>
  );
}

/** "name (12 KiB)" for a picked file. */
export const pickedLabel = (file: PickedFile): string => `${file.name} (${formatBytes(file.size)})`;
