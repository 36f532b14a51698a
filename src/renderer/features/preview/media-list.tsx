import { useState, type ReactNode } from 'react';
import type { ArchiveSourceRef, MediaItem } from '../../../shared/apps';
import { ErrorMessage } from '../../components/error-message';
import { api, mediaUrl } from '../../lib/api';
import { formatBytes } from '../../lib/format';

/**
 * The recordings inside an archive, each playable where it is: the core streams the member out of
 * the archive for a short-lived ticket, converted only when this browser cannot play its format.
 */
export function MediaList(props: { source: ArchiveSourceRef; app: string; items: MediaItem[] }): ReactNode {
  const [playing, setPlaying] = useState<{ id: string; url: string; converted: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const play = (item: MediaItem): void => {
    setError(null);
    const converted = document.createElement('audio').canPlayType(item.contentType) === '';
    api.call('apps:media-url', { source: props.source, app: props.app, mediaId: item.id, transcode: converted }).then(({ ticket }) => setPlaying({ id: item.id, url: mediaUrl(ticket), converted }), setError);
  };
  return (
    <>
      {error ? <ErrorMessage error={error} title="Could not play this recording." /> : null}
      <ul className="media-list" aria-label="Recordings to play">
        {props.items.map((item) => (
          <li key={item.id}>
            <div className="media-head">
              <span className="media-title">{item.label || item.id}</span>
              <span className="muted">
                {item.format}
                {item.bytes !== null ? `, ${formatBytes(item.bytes)}` : ''}
              </span>
              <button type="button" className="button button-small" onClick={() => play(item)} aria-label={`Play ${item.label || item.id}`}>
                ▶ Play
              </button>
            </div>
            {playing?.id === item.id ? (
              <>
                <audio controls autoPlay src={playing.url} aria-label={`Audio of ${item.label || item.id}`} onError={() => setError(new Error('The player could not load this audio.'))} />
                {playing.converted ? <p className="muted">Converted to Opus for this browser while it plays.</p> : null}
              </>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}
