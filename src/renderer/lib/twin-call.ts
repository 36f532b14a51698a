/**
 * The browser twin's call request, and the first one asked for before the app's bundle has
 * loaded: `boot.ts`, the page's first and smallest script, starts the `system:bootstrap` call while
 * the bundle downloads and parses, and the api layer takes its answer for the first render.
 */
import { takeTwinToken } from './twin-token';

/** A twin call's HTTP status and its body read as JSON (`unreadable` says why it could not be). */
export interface TwinAnswer {
  status: number;
  body: unknown;
  unreadable?: unknown;
}

/**
 * POSTs one contract command to the twin on this origin, with the session token, and reads the
 * answer whole. A failure to connect rejects; what the answer means is the api layer's to say.
 */
export async function callTwin(token: string, name: string, input: unknown): Promise<TwinAnswer> {
  const response = await fetch(`/api/call/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input ?? {}),
    cache: 'no-store',
  });
  try {
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { status: response.status, body: undefined, unreadable: error };
  }
}

/** The command whose answer the first render needs. */
export const BOOTSTRAP_COMMAND = 'system:bootstrap';

let early: Promise<TwinAnswer> | null = null;

/**
 * Starts the bootstrap call now, in a browser with a session token; nothing in Electron, where
 * the preload's bridge answers without a network round trip.
 */
export function startEarlyBootstrap(): void {
  if (window.lifeboat || early) return;
  const token = takeTwinToken();
  if (!token) return;
  // Read whole here: by the time the bundle asks, the answer is usually in, so the api layer's
  // store writes run before React's first render (a task later) and the rows are in it.
  early = callTwin(token, BOOTSTRAP_COMMAND, {});
  // Its taker reports a failure; until taken, a rejection must not count as unhandled.
  early.catch(() => undefined);
}

/** The early call's answer, once; null when none was started or it was taken already. */
export function takeEarlyBootstrap(): Promise<TwinAnswer> | null {
  const taken = early;
  early = null;
  return taken;
}
