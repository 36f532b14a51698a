import { useEffect, useState, type ReactNode } from 'react';
import './unattended.css';
import { fleetTitle } from '../../../shared/fleet-title';
import { api } from '../../lib/api';
import { NotificationCentre } from './notification-centre';
import { useLive } from './use-live';

/**
 * The fleet's state in the header and the page title (the browser twin's tray): "All fresh",
 * "2 due", "1 overdue or failing"; and the bell that opens the notification centre. Critical and
 * warning notifications are also shown by the browser once the operator allowed it.
 */
export function FleetStateHeader(): ReactNode {
  const states = useLive(() => api.call('watch:states', {}), ['watch:changed', 'fleet:changed', 'vault:changed', 'installations:changed', 'installation:status']);
  const history = useLive(() => api.call('notify:history', { limit: 1 }), ['notification:new', 'notification:read']);
  const [open, setOpen] = useState(false);
  const fleet = states.value?.fleet ?? null;

  useEffect(() => {
    document.title = fleetTitle(fleet);
  }, [fleet]);

  useEffect(
    () =>
      api.on('notification:new', (n) => {
        if (n.severity === 'info' || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
        new Notification(n.title, { body: n.message, tag: n.installationId ?? n.event });
      }),
    [],
  );

  const unread = history.value?.unread ?? 0;
  return (
    <div className="fleet-state-header">
      {fleet && fleet.total > 0 ? (
        <span className={`fleet-state fleet-state-${fleet.level}`} role="status" aria-label={`Fleet: ${fleet.summary}`} title={`${fleet.fresh} fresh, ${fleet.due} due, ${fleet.overdue} overdue, ${fleet.failing} failing, ${fleet.unknown} without a cadence, ${fleet.unreachable} not reachable now`}>
          <span className="fleet-state-dot" aria-hidden="true" />
          {fleet.summary}
        </span>
      ) : null}
      <button type="button" className="button button-quiet bell" onClick={() => setOpen(true)} aria-label={`Notifications${unread ? `, ${unread} unread` : ''}`}>
        <BellIcon />
        {unread ? <span className="bell-count">{unread}</span> : null}
      </button>
      {open ? <NotificationCentre onClose={() => setOpen(false)} /> : null}
    </div>
  );
}

function BellIcon(): ReactNode {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}
