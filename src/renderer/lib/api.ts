/**
 * The only module that talks to the core. In Electron it uses the preload's `window.lifeboat`
 * bridge; in a browser it uses the twin's HTTP API on this origin (token in sessionStorage).
 * Both give a `LifeboatClient`. `startSync()` is the one event subscriber that writes
 * server-owned data into the store.
 */
import type {
  CommandInput,
  CommandName,
  CommandOutput,
  EventName,
  EventPayload,
  LifeboatBridge,
  LifeboatClient,
} from '../../shared/contract';
import { LifeboatError, isErrorPayload, toErrorPayload, type Result } from '../../shared/errors';
import { isFinished } from '../../shared/jobs';
import { SseParser } from './sse';
import { forgetTwinToken, takeTwinToken } from './twin-token';
import { BOOTSTRAP_COMMAND, callTwin, takeEarlyBootstrap, type TwinAnswer } from './twin-call';
import { saveBlob } from './save-file';
import * as write from '../stores/server-writes';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in the browser twin. */
    lifeboat?: LifeboatBridge;
  }
}

/** What carries calls and events; the bridge and the twin each provide one. */
interface Transport {
  kind: 'bridge' | 'twin';
  invoke(name: string, input: unknown): Promise<Result<unknown>>;
  /** The answer to a call started before this module loaded (the twin's early bootstrap), if any. */
  takeEarly(name: string): Promise<Result<unknown>> | null;
  subscribe(name: string, listener: (payload: unknown) => void): () => void;
  /** Starts the event feed; `onLive` runs on every (re)connection so state can be re-read. */
  start(onLive: () => void): () => void;
}

function bridgeTransport(bridge: LifeboatBridge): Transport {
  return {
    kind: 'bridge',
    invoke: (name, input) => bridge.invoke(name, input),
    takeEarly: () => null,
    subscribe: (name, listener) => bridge.subscribe(name, listener),
    start: (onLive) => {
      write.writeLink('live');
      onLive();
      return () => undefined;
    },
  };
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

function twinTransport(token: string): Transport {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const headers = { Authorization: `Bearer ${token}` };

  /** 401: the token is wrong or from an earlier run; 403: this page's origin is not the twin's. */
  const refused = (status: number): LifeboatError => {
    write.writeLink('unauthorized');
    if (status === 403) return new LifeboatError('FORBIDDEN_ORIGIN', 'The Lifeboat core refused a request from this page\'s origin.');
    forgetTwinToken();
    return new LifeboatError('UNAUTHORIZED', 'The Lifeboat core refused this session token. Open the link `lifeboat serve` printed again.');
  };

  const dispatch = (event: string, data: string): void => {
    const set = listeners.get(event);
    if (!set) return;
    const payload: unknown = JSON.parse(data);
    for (const listener of set) listener(payload);
  };

  /** Reads the event stream until it ends; resolves true if it was ever open. */
  const readStream = async (signal: AbortSignal, onLive: () => void): Promise<boolean> => {
    const response = await fetch('/api/events', { headers: { ...headers, Accept: 'text/event-stream' }, signal, cache: 'no-store' });
    if (response.status === 401 || response.status === 403) throw refused(response.status);
    if (!response.ok || !response.body) throw new LifeboatError('INTERNAL', `The event stream answered HTTP ${response.status}.`);
    write.writeLink('live');
    onLive();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      for (const frame of parser.push(value)) dispatch(frame.event, frame.data);
    }
  };

  /** The envelope of a call's answer, or the error that says why there is none. */
  const answer = async (name: string, sent: Promise<TwinAnswer>): Promise<Result<unknown>> => {
    const { status, body, unreadable } = await sent.catch((error: unknown) => {
      // fetch only says "Failed to fetch": name what could not be reached.
      throw new LifeboatError('INTERNAL', `Cannot reach the Lifeboat core for ${name}; is \`lifeboat serve\` still running?`, { cause: error });
    });
    if (status === 401 || status === 403) throw refused(status);
    if (unreadable !== undefined) throw new LifeboatError('INTERNAL', `The core answered ${name} with HTTP ${status} and no JSON.`, { cause: unreadable });
    if (!isEnvelope(body)) throw new LifeboatError('INTERNAL', `The core answered ${name} with something that is not an envelope.`);
    return body;
  };

  return {
    kind: 'twin',
    invoke: (name, input) => answer(name, callTwin(token, name, input)),
    takeEarly: (name) => {
      const early = name === BOOTSTRAP_COMMAND ? takeEarlyBootstrap() : null;
      return early ? answer(name, early) : null;
    },
    subscribe: (name, listener) => {
      const set = listeners.get(name) ?? new Set();
      listeners.set(name, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    start: (onLive) => {
      const controller = new AbortController();
      const loop = async (): Promise<void> => {
        let delay = RECONNECT_MIN_MS;
        while (!controller.signal.aborted) {
          try {
            const wasOpen = await readStream(controller.signal, onLive);
            if (wasOpen) delay = RECONNECT_MIN_MS;
          } catch (error) {
            if (controller.signal.aborted) return;
            if (error instanceof LifeboatError && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN_ORIGIN')) return;
            // The core restarted or the network hiccuped: say so, then retry with backoff.
            console.warn('Lifeboat event stream dropped:', toErrorPayload(error).message);
          }
          write.writeLink('reconnecting');
          await sleep(delay, controller.signal);
          delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        }
      };
      void loop();
      return () => controller.abort();
    },
  };
}

function isEnvelope(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; error?: unknown };
  return v.ok === true || (v.ok === false && isErrorPayload(v.error));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

let transport: Transport | null | undefined;

/** The transport for this window, or null when the twin has no token (opened without the link). */
function getTransport(): Transport | null {
  if (transport !== undefined) return transport;
  if (window.lifeboat) {
    transport = bridgeTransport(window.lifeboat);
  } else {
    const token = takeTwinToken();
    transport = token ? twinTransport(token) : null;
  }
  return transport;
}

/** Which side of the boundary we run on; the twin can upload dropped files, Electron has paths. */
export function transportKind(): 'bridge' | 'twin' | null {
  return getTransport()?.kind ?? null;
}

/** Where the player loads a media ticket from: the twin serves /media/, Electron its own scheme. */
export function mediaUrl(ticket: string): string {
  return getTransport()?.kind === 'bridge' ? `lifeboat-media://${ticket}` : `/media/${encodeURIComponent(ticket)}`;
}

/** The typed client every feature uses to run commands: `await api.call('installations:list', {})`. */
export const api: LifeboatClient = {
  async call<N extends CommandName>(name: N, input: CommandInput<N>): Promise<CommandOutput<N>> {
    const t = getTransport();
    if (!t) throw new LifeboatError('UNAUTHORIZED', 'No session token: open Lifeboat with the link `lifeboat serve` printed.');
    const result = await (t.takeEarly(name) ?? t.invoke(name, input));
    if (!result.ok) throw LifeboatError.fromPayload(result.error);
    const after = REFRESH_AFTER[name];
    if (after) after();
    return result.data as CommandOutput<N>;
  },
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
    const t = getTransport();
    if (!t) return () => undefined;
    return t.subscribe(name, (payload) => listener(payload as EventPayload<E>));
  },
};

/** Runs `load` now; calls that arrive while it runs fold into one more run after it. */
function coalesced(load: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    load()
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      })
      .catch((error: unknown) => console.error('Lifeboat refresh failed:', toErrorPayload(error).message));
  };
  return run;
}

/**
 * The frame's facts and the fleet's rows, in one call. Its first run in the twin takes the answer
 * to the call the page's first script started before this bundle had loaded (boot.ts), so the
 * rows are usually in the store before React's first render.
 */
const refreshBase = coalesced(async () => {
  try {
    const { info, modules, installations, statuses } = await api.call('system:bootstrap', {});
    write.writeSystemInfo(info);
    write.writeModules(modules);
    write.writeInstallations(installations);
    write.writeStatuses(statuses);
  } catch (error) {
    write.writeFleetError(toErrorPayload(error));
  }
});

const refreshJobs = coalesced(async () => {
  try {
    write.writeJobs(await api.call('jobs:list', { limit: 200 }));
  } catch (error) {
    write.writeJobsError(toErrorPayload(error));
  }
});

/** Status first: snapshots and sizes can only be read from an open vault. */
const refreshVault = coalesced(async () => {
  try {
    const status = await api.call('vault:status', {});
    const [snapshots, stats] = status.open ? await Promise.all([api.call('vault:snapshots', {}), api.call('vault:stats', {})]) : [null, null];
    write.writeVault(status, snapshots, stats);
  } catch (error) {
    write.writeVaultError(toErrorPayload(error));
  }
});

/** The Fleet view's rows; reloaded on the events that change them, never on a timer. */
const refreshOverview = coalesced(async () => {
  try {
    write.writeFleetOverview(await api.call('fleet:overview', {}));
  } catch (error) {
    write.writeFleetOverviewError(toErrorPayload(error));
  }
});

/**
 * Commands whose effect the store should show at once, even if the matching event is delayed
 * (or the stream is reconnecting). The event path refreshes too; coalescing keeps it to one load.
 */
const REFRESH_AFTER: Partial<Record<CommandName, () => void>> = {
  'installations:add': refreshBase,
  'installations:update': refreshBase,
  'installations:remove': refreshBase,
  'installations:forget-secret': refreshBase,
  'installations:trust-host-key': refreshBase,
  'installations:trust-certificate': refreshBase,
  'system:use-ask-every-time': refreshBase,
  'vault:init': refreshVault,
  'vault:unlock': refreshVault,
  'vault:acknowledge-recovery-kit': refreshVault,
};

/**
 * Subscribes to every event and loads the initial state; re-reads everything after each
 * reconnection, since events sent while the stream was down are lost. Returns a stop function.
 */
export function startSync(): () => void {
  const t = getTransport();
  if (!t) {
    write.writeLink('no-token');
    return () => undefined;
  }
  const offs = [
    api.on('job:update', (job) => write.writeJob(job)),
    api.on('installation:status', (status) => write.writeStatus(status)),
    api.on('installations:changed', () => refreshBase()),
    api.on('vault:changed', () => {
      write.bumpVaultRevision();
      refreshVault();
    }),
    // Remote backups, snapshots, installations and reachability all feed the overview.
    api.on('fleet:changed', () => refreshOverview()),
    api.on('vault:changed', () => refreshOverview()),
    api.on('installations:changed', () => refreshOverview()),
    api.on('installation:status', () => refreshOverview()),
    // A failed pull changes freshness without any other event.
    api.on('job:update', (job) => {
      if (job.kind === 'pull' && isFinished(job.status)) refreshOverview();
    }),
  ];
  const loadAll = (): void => {
    refreshBase();
    refreshJobs();
    refreshVault();
    refreshOverview();
  };
  // The first reads start now, in parallel with the event stream's opening (the list no longer
  // waits for it); once the stream is live everything is read again, so an event sent between
  // the first read and the subscription is not lost (coalesced: a load still running folds the
  // re-read into one more run).
  // (The bridge is live at once and reads once.)
  if (t.kind === 'twin') loadAll();
  const stop = t.start(loadAll);
  return () => {
    stop();
    for (const off of offs) off();
  };
}

/** Makes sure a job just started is in the store, in case its first event went by before we knew its id. */
export async function ensureJob(id: string): Promise<void> {
  const job = await api.call('jobs:get', { id });
  write.writeJob(job);
}

/** Sends a dropped file to the twin (Electron passes local paths instead). */
export async function uploadFile(file: File): Promise<{ uploadId: string; name: string; size: number }> {
  const t = getTransport();
  if (t?.kind !== 'twin') throw new LifeboatError('INTERNAL', 'Uploads go through the browser twin only; Electron reads the local path.');
  const token = takeTwinToken();
  const response = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token ?? ''}`, 'Content-Type': 'application/octet-stream' },
    body: file,
  });
  if (response.status === 401 || response.status === 403) throw new LifeboatError('UNAUTHORIZED', 'The core refused the upload: the session token is no longer valid.');
  const body: unknown = await response.json();
  if (!isEnvelope(body)) throw new LifeboatError('INTERNAL', `The upload of ${file.name} got an answer that is not an envelope.`);
  if (!body.ok) throw LifeboatError.fromPayload(body.error);
  return body.data as { uploadId: string; name: string; size: number };
}

/** The local path of a dropped file in Electron; null in a browser. */
export function pathForFile(file: File): string | null {
  return window.lifeboat?.pathForFile?.(file) ?? null;
}

/**
 * Saves a snapshot's archive as a download with its original file name (the twin streams it from
 * /api/export/; every blob is verified on the way out). Electron has no such route yet.
 */
export async function downloadSnapshotArchive(snapshotId: string, fileName: string): Promise<void> {
  const t = getTransport();
  if (t?.kind !== 'twin') throw new LifeboatError('APP_UNSUPPORTED', 'Export file works in the browser view for now; from a terminal, run lifeboat vault dump.');
  const token = takeTwinToken();
  const response = await fetch(`/api/export/${encodeURIComponent(snapshotId)}`, { headers: { Authorization: `Bearer ${token ?? ''}` }, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) throw new LifeboatError('UNAUTHORIZED', 'The core refused the export: the session token is no longer valid.');
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    if (isEnvelope(body) && !body.ok) throw LifeboatError.fromPayload(body.error);
    throw new LifeboatError('INTERNAL', `The export of ${fileName} answered HTTP ${response.status}.`);
  }
  saveBlob(await response.blob(), fileName);
}
