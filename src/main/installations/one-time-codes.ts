/**
 * One-time codes (TOTP or backup codes) an operator typed for one installation, held in memory
 * until an adapter needs one. A code is used at most once, lives 120 s (a TOTP value is valid for
 * 30 s, plus the server's tolerance and the time a job takes to reach the step), and is never
 * persisted, logged or sent anywhere but the installation it was typed for.
 */

/** How long a provided code waits for a job to take it. */
export const ONE_TIME_CODE_TTL_MS = 120_000;

interface Held {
  code: string;
  expiresAt: number;
}

/** The in-memory store of codes, one per installation; a newer code replaces an older one. */
export class OneTimeCodes {
  private readonly held = new Map<string, Held>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps `code` for the installation's next step that needs one; returns when it expires. */
  provide(installationId: string, code: string): { expiresAt: string } {
    const expiresAt = this.now() + ONE_TIME_CODE_TTL_MS;
    this.held.set(installationId, { code, expiresAt });
    return { expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The installation's code, removed as it is taken; null when none was provided or it expired. */
  take(installationId: string): string | null {
    const held = this.held.get(installationId);
    this.held.delete(installationId);
    if (!held || held.expiresAt <= this.now()) return null;
    return held.code;
  }

  /** Whether a code is waiting (without taking it). */
  has(installationId: string): boolean {
    const held = this.held.get(installationId);
    return held !== undefined && held.expiresAt > this.now();
  }
}
