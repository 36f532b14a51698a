import { appendFile, readFile } from 'node:fs/promises';
import type { AuditEntry } from '../../shared/audit';

/**
 * The audit trail: one JSON line per pull, import, check, forget, prune and restore, only ever
 * appended. It names installations and snapshots, never a secret.
 */
export class AuditLog {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    const line = `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`;
    this.queue = this.queue.then(() => appendFile(this.file, line, { mode: 0o600 }));
    return this.queue;
  }

  async list(filter: { installationId?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    await this.queue;
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const entries: AuditEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as AuditEntry);
      } catch {
        // A torn last line after a crash; the entries before it stand.
        continue;
      }
    }
    return entries
      .filter((e) => !filter.installationId || e.installationId === filter.installationId)
      .reverse()
      .slice(0, filter.limit ?? 1000);
  }
}
