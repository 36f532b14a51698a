import { useEffect, useState, type ReactNode } from 'react';
import { ErrorMessage } from '../components/error-message';
import { stageDroppedArchive } from '../features/preview/dropped-files';
import { fleetHref } from '../features/fleet/sub-route';
import { useStore } from '../stores/store';

const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes('Files') ?? false;

/**
 * Files dropped anywhere on the window open the file preview: what is inside, then Restore to… or
 * Add to vault. A page with a drop zone of its own (the Vault page imports) handles its drops
 * first; this takes only what nothing else took.
 */
export function WindowDrop(): ReactNode {
  const setDroppedFile = useStore((s) => s.setDroppedFile);
  const [over, setOver] = useState(false);
  const [staging, setStaging] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const onDragOver = (event: DragEvent): void => {
      if (!carriesFiles(event) || event.defaultPrevented) return;
      // Without preventDefault the browser would open the file instead of dropping it here.
      event.preventDefault();
      setOver(true);
    };
    const onDragLeave = (event: DragEvent): void => {
      if (event.relatedTarget === null) setOver(false);
    };
    const onDrop = (event: DragEvent): void => {
      setOver(false);
      if (!carriesFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length === 0) return;
      setError(null);
      setStaging(files.map((f) => f.name).join(', '));
      stageDroppedArchive(files).then(
        (picked) => {
          setStaging(null);
          setDroppedFile(picked);
          window.location.hash = fleetHref.preview();
        },
        (e: unknown) => {
          setStaging(null);
          setError(e);
        },
      );
    };
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('dragleave', onDragLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('dragleave', onDragLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, [setDroppedFile]);

  return (
    <>
      {over ? (
        <div className="drop-overlay window-drop-overlay" aria-hidden="true">
          <div>Drop a backup file to see what is inside</div>
        </div>
      ) : null}
      {staging ? (
        <p className="window-drop-status" role="status">
          Sending {staging} to Lifeboat…
        </p>
      ) : null}
      {error ? (
        <div className="window-drop-status">
          <ErrorMessage error={error} title="Could not open the dropped files." />
          <button type="button" className="button button-small" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      ) : null}
    </>
  );
}
