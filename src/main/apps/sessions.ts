/**
 * Per-installation state that app modules keep between jobs (a login session, a rate budget),
 * owned by the core: disposed when the installation is removed or changed and when the core closes,
 * so no module keeps state in a module-level global.
 */
import type { ModuleSession, SessionStore } from './module';

export class InstallationSessions {
  private readonly byInstallation = new Map<string, Map<string, ModuleSession>>();

  /** The store one installation's jobs use. */
  storeFor(installationId: string): SessionStore {
    return {
      get: <T extends ModuleSession>(name: string, create: () => T): T => {
        let sessions = this.byInstallation.get(installationId);
        if (!sessions) {
          sessions = new Map();
          this.byInstallation.set(installationId, sessions);
        }
        const existing = sessions.get(name);
        if (existing) return existing as T;
        const made = create();
        sessions.set(name, made);
        return made;
      },
    };
  }

  /** How many sessions an installation holds (for the connection test's "reuse, do not log in again"). */
  count(installationId: string): number {
    return this.byInstallation.get(installationId)?.size ?? 0;
  }

  /** Ends every session of one installation. */
  async dispose(installationId: string): Promise<void> {
    const sessions = this.byInstallation.get(installationId);
    this.byInstallation.delete(installationId);
    if (sessions) await Promise.allSettled([...sessions.values()].map((s) => s.dispose()));
  }

  /** Ends every session (core shutdown). */
  async disposeAll(): Promise<void> {
    await Promise.all([...this.byInstallation.keys()].map((id) => this.dispose(id)));
  }
}
