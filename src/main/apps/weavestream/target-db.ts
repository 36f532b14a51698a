/**
 * What is Weavestream's own in its PostgreSQL: the backup advisory lock (spec weavestream.md §2.5)
 * and the applied Prisma migrations; the connection itself is transport/postgres/tunnel-db.ts.
 */
import type { TunnelDb } from '../../transport/postgres/tunnel-db';

/** Weavestream's backup lock: `pg_try_advisory_lock(hashtext('weavestream:backup'))` (= -356737404 on PG 15). */
export const WEAVESTREAM_LOCK_SQL_KEY = "hashtext('weavestream:backup')";

/** One applied migration (finished, not rolled back). */
export interface AppliedMigration {
  name: string;
  checksum: string;
}

/** Migrations Prisma applied (finished, not rolled back), or null when there is no `_prisma_migrations`. */
export async function appliedMigrations(db: TunnelDb): Promise<AppliedMigration[] | null> {
  const exists = await db.client.query<{ t: string | null }>(`SELECT to_regclass('public._prisma_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return null;
  const result = await db.client.query<AppliedMigration>(
    `SELECT migration_name AS name, checksum FROM public._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return result.rows;
}
