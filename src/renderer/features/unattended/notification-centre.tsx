import type { ReactNode } from 'react';
import { When } from '../../components/when';
import type { WatchEntry } from '../../../shared/schedule';
import { Dialog } from '../../components/dialog';
import { api } from '../../lib/api';
import { useLive } from './use-live';

/** The notification centre: every alert Lifeboat raised, newest first, kept across restarts. */
export function NotificationCentre(props: { onClose: () => void }): ReactNode {
  const history = useLive(() => api.call('notify:history', { limit: 100 }), ['notification:new']);
  const items = history.value?.items ?? [];
  const states = useLive(() => api.call('watch:states', {}), ['watch:changed']);
  const alarmed = new Map((states.value?.entries ?? []).filter((e) => e.state === 'overdue' || e.state === 'failing').map((e) => [e.installationId, e]));
  const quiet = async (installationId: string, how: 'ack' | 'snooze'): Promise<void> => {
    if (how === 'ack') await api.call('watch:acknowledge', { installationId });
    else await api.call('watch:snooze', { installationId, hours: 24 });
    states.reload();
  };
  // The actions go on the newest notification of each installation still in alarm.
  const actionsOn = new Map<string, string>();
  for (const n of items) if (n.installationId && alarmed.has(n.installationId) && !actionsOn.has(n.installationId)) actionsOn.set(n.installationId, n.id);
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
        <ol className="stacked-list" aria-label="Notification history">
          {items.map((n) => (
            <li key={n.id} className={`notification notification-${n.severity}${n.read ? '' : ' notification-unread'}`}>
              <div className="notification-head">
                <strong>{n.title}</strong>
                <When iso={n.at} />
              </div>
              <p className="notification-message">{n.message}</p>
              {n.installationId && actionsOn.get(n.installationId) === n.id ? (
                <AlarmActions entry={alarmed.get(n.installationId)!} onQuiet={(how) => void quiet(n.installationId!, how)} />
              ) : null}
            </li>
          ))}
        </ol>
      )}
    </Dialog>
  );
}

/** Acknowledge (no reminders until the state changes) or snooze (no alerts for a day) an installation that is still in alarm. */
function AlarmActions(props: { entry: WatchEntry; onQuiet: (how: 'ack' | 'snooze') => void }): ReactNode {
  const { entry } = props;
  if (entry.acknowledged) return <p className="muted">Acknowledged: no reminders until its state changes.</p>;
  if (entry.snoozedUntil) return <p className="muted">Snoozed until <When iso={entry.snoozedUntil} />.</p>;
  return (
    <div className="channel-actions">
      <button type="button" className="button button-small" onClick={() => props.onQuiet('ack')}>
        Acknowledge
      </button>
      <button type="button" className="button button-small" onClick={() => props.onQuiet('snooze')}>
        Snooze 24 h
      </button>
    </div>
  );
}
