import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LifeboatError } from '../../shared/errors';
import { isFinished, type JobRecord } from '../../shared/jobs';
import {
  channelInputSchema,
  NOTIFICATION_EVENTS,
  watchSettingsSchema,
  type ChannelInput,
  type ChannelView,
  type NotificationRecord,
  type WatchSettings,
} from '../../shared/schedule';
import type { EventBus } from '../events/event-bus';
import { writeFileAtomic } from '../fs/atomic-write';
import type { SecretStore } from '../installations/secrets';
import type { Clock } from '../schedule/scheduler';
import { deliver, type DeliveryResult } from './deliver';

const channelSchema = z.object({
  id: z.string(),
  kind: z.enum(['ntfy', 'webhook']),
  name: z.string(),
  events: z.array(z.enum(NOTIFICATION_EVENTS)),
  tags: z.array(z.string()).default([]),
  timeoutSeconds: z.number().default(10),
  retries: z.number().int().default(3),
  enabled: z.boolean().default(true),
});
type Channel = z.infer<typeof channelSchema>;

const pingSchema = z.object({ timeoutSeconds: z.number().default(10), retries: z.number().int().default(3) });

const fileSchema = z.object({
  version: z.literal(1).default(1),
  channels: z.array(channelSchema).default([]),
  /** Installations with a healthchecks.io-style ping (its URL is in the keychain). */
  healthchecks: z.record(z.string(), pingSchema).default({}),
  watch: watchSettingsSchema.default({ graceHours: null, reminderHours: 24, digestThreshold: 3 }),
});
type NotifyFile = z.infer<typeof fileSchema>;

const HISTORY_KEPT = 500;
const HEALTHCHECK_BODY_BYTES = 10_000;
/** Keychain account of a channel's URL (an ntfy topic or a webhook address is a capability: whoever has it can post). */
export const channelAccount = (id: string) => `notify:${id}:url`;
export const healthcheckAccount = (installationId: string) => `notify:healthchecks:${installationId}:url`;

const PRIORITY: Record<NotificationRecord['severity'], string> = { critical: '5', warning: '4', info: '3' };
const TAG: Record<NotificationRecord['severity'], string> = { critical: 'rotating_light', warning: 'warning', info: 'white_check_mark' };

/** A header value in RFC 2047 encoded-word form when it is not plain ASCII (ntfy decodes it). */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/**
 * The notification centre: every alert is kept in a history (notifications.jsonl) and sent to
 * the channels that chose its event — ntfy, a generic webhook — and every pull of an installation
 * with a healthchecks.io-style ping reports its start, success or failure there. Delivery runs
 * beside the work, never in it: a dead channel never delays a pull, and is itself reported.
 */
export class Notifications {
  private history: NotificationRecord[] | null = null;
  private readonly lastDelivery = new Map<string, DeliveryResult & { at: string }>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private readonly pinged = new Map<string, string>();
  /** Pings of one installation go out in order (a success never overtakes its /start). */
  private readonly pingChains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly configFile: string,
    private readonly historyFile: string,
    private readonly secrets: () => SecretStore,
    private readonly events: EventBus,
    private readonly clock: Clock,
  ) {}

  async config(): Promise<NotifyFile> {
    try {
      return fileSchema.parse(JSON.parse(await readFile(this.configFile, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fileSchema.parse({});
      throw new LifeboatError('INVALID_INPUT', `${this.configFile} is not valid; fix or remove it.`, { cause: error });
    }
  }

  private async write(config: NotifyFile): Promise<void> {
    await writeFileAtomic(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  async watchSettings(): Promise<WatchSettings> {
    return (await this.config()).watch;
  }

  async setWatchSettings(change: Partial<WatchSettings>): Promise<WatchSettings> {
    const config = await this.config();
    config.watch = watchSettingsSchema.parse({ ...config.watch, ...change });
    await this.write(config);
    return config.watch;
  }

  async channels(): Promise<ChannelView[]> {
    const config = await this.config();
    const views: ChannelView[] = [];
    for (const c of config.channels) {
      views.push({ ...c, hasUrl: (await this.secrets().get(channelAccount(c.id))) !== null, lastDelivery: this.lastDelivery.get(c.id) ?? null });
    }
    for (const [installationId, p] of Object.entries(config.healthchecks)) {
      const id = `healthchecks-${installationId}`;
      views.push({ id, kind: 'healthchecks', name: `Ping for ${installationId}`, installationId, events: [], tags: [], timeoutSeconds: p.timeoutSeconds, retries: p.retries, enabled: true, hasUrl: (await this.secrets().get(healthcheckAccount(installationId))) !== null, lastDelivery: this.lastDelivery.get(id) ?? null });
    }
    return views;
  }

  /** Adds or changes a channel; its URL goes to the keychain. */
  async saveChannel(input: ChannelInput): Promise<ChannelView> {
    const parsed = channelInputSchema.parse(input);
    const config = await this.config();
    const id = parsed.id ?? `${parsed.kind}-${randomUUID().slice(0, 8)}`;
    const existing = config.channels.find((c) => c.id === id);
    if (!existing && !parsed.url) throw new LifeboatError('INVALID_INPUT', `A new ${parsed.kind} channel needs its URL.`, { details: { issues: [{ path: ['url'], message: 'the URL is required' }] } });
    if (parsed.url) {
      if (!/^https?:\/\//.test(parsed.url)) throw new LifeboatError('INVALID_INPUT', 'A channel URL starts with https:// (or http:// on your own network).');
      await this.secrets().set(channelAccount(id), parsed.url);
    }
    const { url: _url, id: _id, ...fields } = parsed;
    const channel: Channel = { ...fields, id };
    config.channels = existing ? config.channels.map((c) => (c.id === id ? channel : c)) : [...config.channels, channel];
    await this.write(config);
    return (await this.channels()).find((c) => c.id === id)!;
  }

  async removeChannel(id: string): Promise<void> {
    const config = await this.config();
    const hc = /^healthchecks-(.+)$/.exec(id)?.[1];
    if (hc) {
      if (!config.healthchecks[hc]) throw new LifeboatError('NOT_FOUND', `No ping for installation ${hc}.`);
      delete config.healthchecks[hc];
      await this.secrets().delete(healthcheckAccount(hc));
    } else {
      if (!config.channels.some((c) => c.id === id)) throw new LifeboatError('NOT_FOUND', `No notification channel "${id}".`);
      config.channels = config.channels.filter((c) => c.id !== id);
      await this.secrets().delete(channelAccount(id));
    }
    await this.write(config);
  }

  /** Sets (or with url null removes) an installation's healthchecks.io-style ping URL. */
  async setHealthcheck(installationId: string, url: string | null, options: { timeoutSeconds?: number; retries?: number } = {}): Promise<void> {
    const config = await this.config();
    if (url === null) {
      delete config.healthchecks[installationId];
      await this.secrets().delete(healthcheckAccount(installationId));
    } else {
      if (!/^https?:\/\/[^/]/.test(url)) throw new LifeboatError('INVALID_INPUT', 'A ping URL starts with https:// (e.g. https://hc-ping.com/<uuid>).');
      await this.secrets().set(healthcheckAccount(installationId), url.replace(/\/+$/, ''));
      config.healthchecks[installationId] = pingSchema.parse(options);
    }
    await this.write(config);
  }

  private async loadHistory(): Promise<NotificationRecord[]> {
    if (this.history) return this.history;
    const records = new Map<string, NotificationRecord>();
    try {
      for (const line of (await readFile(this.historyFile, 'utf8')).split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as NotificationRecord | { readIds: string[] | 'all'; at: string };
          if ('readIds' in entry) {
            for (const r of records.values()) if (entry.readIds === 'all' || entry.readIds.includes(r.id)) r.read = true;
          } else records.set(entry.id, entry);
        } catch {
          continue;
        }
      }
    } catch {
      // No history yet.
    }
    this.history = [...records.values()].slice(-HISTORY_KEPT);
    return this.history;
  }

  async list(limit = 100): Promise<NotificationRecord[]> {
    return structuredClone((await this.loadHistory()).slice(-limit).reverse());
  }

  async markRead(ids: string[] | 'all'): Promise<number> {
    const history = await this.loadHistory();
    for (const r of history) if (ids === 'all' || ids.includes(r.id)) r.read = true;
    await appendFile(this.historyFile, `${JSON.stringify({ readIds: ids, at: new Date(this.clock.now()).toISOString() })}\n`, { mode: 0o600 });
    return history.filter((r) => !r.read).length;
  }

  /** Keeps an alert in the history, shows it in the app, and sends it to every channel that chose its event. */
  post(input: Omit<NotificationRecord, 'id' | 'at' | 'read'>): NotificationRecord {
    const record: NotificationRecord = { ...input, id: randomUUID(), at: new Date(this.clock.now()).toISOString(), read: false };
    this.track(
      (async () => {
        // Quiet on success: a success goes only to channels that chose it, never into the centre
        // (hourly pulls of a large fleet would push the alarms out of its history).
        if (record.event !== 'run-succeeded') {
          const history = await this.loadHistory();
          history.push(record);
          if (history.length > HISTORY_KEPT) history.splice(0, history.length - HISTORY_KEPT);
          await appendFile(this.historyFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
          this.events.emit('notification:new', record);
        }
        if (record.event === 'channel-failed') return;
        const config = await this.config();
        await Promise.all(config.channels.filter((c) => c.enabled && c.events.includes(record.event)).map((c) => this.send(c, record)));
      })(),
    );
    return record;
  }

  /** Sends a test message on one channel now and says how it went (the CLI's `notify test`, the UI's "Send a test"). */
  async test(id: string): Promise<DeliveryResult> {
    const config = await this.config();
    const hc = /^healthchecks-(.+)$/.exec(id)?.[1];
    if (hc && config.healthchecks[hc]) return this.ping(hc, 'success', 'Test ping from Lifeboat.');
    const channel = config.channels.find((c) => c.id === id || c.name.toLowerCase() === id.toLowerCase());
    if (!channel) throw new LifeboatError('NOT_FOUND', `No notification channel "${id}"; lifeboat notify list shows them.`);
    const record: NotificationRecord = { id: randomUUID(), at: new Date(this.clock.now()).toISOString(), event: 'test', severity: 'info', title: 'Lifeboat test notification', message: `This is a test from Lifeboat on channel "${channel.name}". If you read this, alerts will reach you here.`, installationId: null, read: false };
    return this.send(channel, record);
  }

  private async send(channel: Channel, record: NotificationRecord): Promise<DeliveryResult> {
    const url = await this.secrets().get(channelAccount(channel.id));
    const result = url
      ? await deliver({ url, timeoutMs: channel.timeoutSeconds * 1000, retries: channel.retries, signal: this.stopping.signal, ...(channel.kind === 'ntfy' ? ntfyRequest(channel, record) : webhookRequest(record)) })
      : { ok: false, attempts: 0, detail: 'no URL is stored for it (the keychain has none)' };
    this.delivered(channel.id, channel.name, result, record);
    return result;
  }

  private delivered(id: string, name: string, result: DeliveryResult, record: Pick<NotificationRecord, 'title'>): void {
    this.lastDelivery.set(id, { ...result, at: new Date(this.clock.now()).toISOString() });
    this.events.emit('notification:delivery', { channelId: id, ok: result.ok, attempts: result.attempts, detail: result.detail });
    if (!result.ok && !this.stopping.signal.aborted) {
      this.post({ event: 'channel-failed', severity: 'warning', title: `Notification channel "${name}" failed`, message: `Could not deliver "${record.title}" after ${result.attempts} attempt(s): ${result.detail}.`, installationId: null });
    }
  }

  /** healthchecks.io: `<url>/start` when a pull starts, `<url>` when it succeeds, `<url>/fail` with the log when it fails. */
  async ping(installationId: string, kind: 'start' | 'success' | 'fail', body?: string): Promise<DeliveryResult> {
    const config = await this.config();
    const settings = config.healthchecks[installationId];
    const url = settings ? await this.secrets().get(healthcheckAccount(installationId)) : null;
    if (!settings || !url) return { ok: false, attempts: 0, detail: 'no ping URL' };
    const result = await deliver({ url: kind === 'success' ? url : `${url}/${kind}`, body: (body ?? '').slice(0, HEALTHCHECK_BODY_BYTES), headers: { 'content-type': 'text/plain; charset=utf-8' }, timeoutMs: settings.timeoutSeconds * 1000, retries: settings.retries, signal: this.stopping.signal });
    this.delivered(`healthchecks-${installationId}`, `ping of ${installationId}`, result, { title: `the ${kind} ping` });
    return result;
  }

  /** Pings follow every pull of an installation that has a ping, whoever started it. */
  watchJobs(): () => void {
    return this.events.on('job:update', (job) => this.onJob(job));
  }

  private onJob(job: JobRecord): void {
    if (job.kind !== 'pull' || !job.installationId) return;
    const phase = job.status === 'running' ? 'start' : isFinished(job.status) ? 'end' : null;
    if (!phase || this.pinged.get(job.id) === phase || (phase === 'start' && this.pinged.get(job.id) === 'end')) return;
    this.pinged.set(job.id, phase);
    if (phase === 'end') setTimeout(() => this.pinged.delete(job.id), 60_000).unref();
    const installationId = job.installationId;
    const send = async () => {
      if (!(await this.config()).healthchecks[installationId]) return;
      if (phase === 'start') await this.ping(installationId, 'start');
      else if (job.status === 'succeeded' || job.status === 'succeeded-with-warnings') await this.ping(installationId, 'success', `${job.title}: ${job.status}${job.warnings.length ? `\n${job.warnings.join('\n')}` : ''}`);
      else await this.ping(installationId, 'fail', [`${job.title}: ${job.status}`, job.error ? `${job.error.code}: ${job.error.message}` : '', '', ...job.log.slice(-30)].join('\n'));
    };
    const chained = (this.pingChains.get(installationId) ?? Promise.resolve()).then(send, send);
    this.pingChains.set(installationId, chained.catch(() => undefined));
    this.track(chained);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Waits for deliveries under way (tests and a clean shutdown); `abort` stops their retries. */
  async settle(abort = false): Promise<void> {
    if (abort) this.stopping.abort();
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

function ntfyRequest(channel: Channel, record: NotificationRecord) {
  const tags = [...new Set([TAG[record.severity], ...channel.tags])];
  return { headers: { Title: headerText(record.title), Priority: PRIORITY[record.severity], Tags: tags.join(','), 'content-type': 'text/plain; charset=utf-8' }, body: record.message };
}

/** The generic webhook's JSON (documented in the README). */
export function webhookPayload(record: NotificationRecord) {
  return { version: 1, id: record.id, at: record.at, event: record.event, severity: record.severity, title: record.title, message: record.message, installationId: record.installationId, ...(record.items ? { items: record.items } : {}) };
}

function webhookRequest(record: NotificationRecord) {
  return { headers: { 'content-type': 'application/json', 'user-agent': 'Lifeboat' }, body: JSON.stringify(webhookPayload(record)) };
}
