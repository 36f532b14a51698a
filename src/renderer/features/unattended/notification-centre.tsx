import type { ReactNode } from 'react';
import { Dialog } from '../../components/dialog';
import { api } from '../../lib/api';
import { useLive } from './use-live';

/** The notification centre: every alert Lifeboat raised, newest first, kept across restarts. */
export function NotificationCentre(props: { onClose: () => void }): ReactNode {
  const history = useLive(() => api.call('notify:history', { limit: 100 }), ['notification:new']);
  const items = history.value?.items ?? [];
  const markAll = async (): Promise<void> => {
    await api.call('notify:mark-read', {});
    history.reload();
  };
  return (
    <Dialog
      title="Notifications"
      onClose={props.onClose}
      wide
      footer={
        <>
          <button type="button" className="button push-left" onClick={() => void markAll()} disabled={!history.value?.unread}>
            Mark all read
          </button>
          <button type="button" className="button button-primary" onClick={props.onClose}>
            Close
          </button>
        </>
      }
    >
      {history.error ? <p className="field-error">{history.error}</p> : null}
      {items.length === 0 ? (
        <p className="muted">No notifications yet. Lifeboat tells you here when a backup is late, a pull fails, or something recovers.</p>
      ) : (
        <ol className="notification-list" aria-label="Notification history">
          {items.map((n) => (
            <li key={n.id} className={`notification notification-${n.severity}${n.read ? '' : ' notification-unread'}`}>
              <div className="notification-head">
                <strong>{n.title}</strong>
                <time dateTime={n.at}>{new Date(n.at).toLocaleString()}</time>
              </div>
              <p className="notification-message">{n.message}</p>
            </li>
          ))}
        </ol>
      )}
    </Dialog>
  );
}
