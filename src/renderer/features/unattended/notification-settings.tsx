import { useState, type FormEvent, type ReactNode } from 'react';
import { DEFAULT_CHANNEL_EVENTS, NOTIFICATION_EVENTS, type NotificationEvent } from '../../../shared/schedule';
import { ErrorMessage } from '../../components/error-message';
import { Field } from '../../components/field';
import { api } from '../../lib/api';
import { useLive } from './use-live';

/** Notification channels: add ntfy or a webhook (its URL goes to the keychain), choose events, send a test. */
export function NotificationSettings(): ReactNode {
  const channels = useLive(() => api.call('notify:channels', {}), ['notification:delivery']);
  const [tests, setTests] = useState<Record<string, string>>({});
  const [kind, setKind] = useState<'ntfy' | 'webhook'>('ntfy');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<NotificationEvent[]>(DEFAULT_CHANNEL_EVENTS);
  const [error, setError] = useState<unknown>(null);
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

  const test = async (id: string): Promise<void> => {
    setTests((t) => ({ ...t, [id]: 'Sending…' }));
    try {
      const r = await api.call('notify:test', { id });
      setTests((t) => ({ ...t, [id]: `${r.ok ? 'Delivered' : 'Not delivered'} after ${r.attempts} attempt(s): ${r.detail}` }));
    } catch (e) {
      setTests((t) => ({ ...t, [id]: e instanceof Error ? e.message : String(e) }));
    }
  };

  const add = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    try {
      await api.call('notify:save-channel', { kind, name, url, events });
      setName('');
      setUrl('');
      channels.reload();
    } catch (e) {
      setError(e);
    }
  };

  const remove = async (id: string): Promise<void> => {
    await api.call('notify:remove-channel', { id });
    channels.reload();
  };

  return (
    <section className="card" aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p className="muted">Quiet on success, loud when a backup is late or a pull fails. Channel addresses are kept in the keychain.</p>
      {(channels.value ?? []).length > 0 ? (
        <ul className="channel-list" aria-label="Channels">
          {(channels.value ?? []).map((c) => (
            <li key={c.id} className="channel">
              <div>
                <strong>{c.name}</strong> <span className="muted">({c.kind}{c.kind === 'healthchecks' ? '' : `: ${c.events.join(', ')}`})</span>
                {c.lastDelivery ? <div className={c.lastDelivery.ok ? 'muted' : 'field-error'}>Last delivery: {c.lastDelivery.ok ? 'ok' : 'failed'} — {c.lastDelivery.detail}</div> : null}
                {tests[c.id] ? <div role="status">{tests[c.id]}</div> : null}
              </div>
              <div className="channel-actions">
                <button type="button" className="button" onClick={() => void test(c.id)}>
                  Send a test
                </button>
                <button type="button" className="button button-quiet" onClick={() => void remove(c.id)} aria-label={`Remove ${c.name}`}>
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No channels yet.</p>
      )}
      <form className="form" onSubmit={(ev) => void add(ev)} aria-label="Add a channel">
        <div className="form-grid">
          <Field label="Kind" className="span-1">
            {(c) => (
              <select {...c} value={kind} onChange={(ev) => setKind(ev.target.value as 'ntfy' | 'webhook')}>
                <option value="ntfy">ntfy</option>
                <option value="webhook">Webhook</option>
              </select>
            )}
          </Field>
          <Field label="Channel name" className="span-2">
            {(c) => <input {...c} type="text" value={name} onChange={(ev) => setName(ev.target.value)} />}
          </Field>
          <Field label={kind === 'ntfy' ? 'Topic URL' : 'Webhook URL'} className="span-3" hint={kind === 'ntfy' ? 'e.g. https://ntfy.sh/your-secret-topic' : 'Lifeboat POSTs JSON here (see the README)'}>
            {(c) => <input {...c} type="url" value={url} onChange={(ev) => setUrl(ev.target.value)} />}
          </Field>
        </div>
        <fieldset className="event-choice">
          <legend>Send these events</legend>
          {NOTIFICATION_EVENTS.filter((e) => e !== 'channel-failed').map((e) => (
            <label key={e} className="checkbox">
              <input type="checkbox" checked={events.includes(e)} onChange={(ev) => setEvents((list) => (ev.target.checked ? [...list, e] : list.filter((x) => x !== e)))} />
              {e}
            </label>
          ))}
        </fieldset>
        <div className="page-toolbar">
          <button type="submit" className="button button-primary" disabled={!name || !url}>
            Add channel
          </button>
          {permission === 'default' ? (
            <button type="button" className="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
              Show alerts as desktop notifications
            </button>
          ) : permission === 'granted' ? (
            <span className="muted">Desktop notifications are on.</span>
          ) : null}
        </div>
        {error ? <ErrorMessage error={error} /> : null}
      </form>
    </section>
  );
}
