// A small Weavestream-like database: three Prisma migrations (users and sessions, posts and
// saved passwords, the 0033 scheduled-backups tables from the spec), Prisma's own
// `_prisma_migrations` bookkeeping, and seed data with the awkward bits COPY text must escape.

/** Migration directories as the worker image ships them: name → migration.sql. */
export const MIGRATIONS: Record<string, string> = {
  '0001_init': `-- CreateEnum
CREATE TYPE "Role" AS ENUM ('SUPER_ADMIN', 'ADMIN', 'MEMBER');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'MEMBER',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

CREATE TABLE "sessions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "refresh_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "actor_id" UUID,
    "action" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_actor_id_fkey" FOREIGN KEY ("actor_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
`,
  '0002_posts_and_passwords': `-- CreateTable
CREATE TABLE "posts" (
    "id" SERIAL NOT NULL,
    "author_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "posts_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "posts_author_id_idx" ON "posts"("author_id");
ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "password_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "kid" TEXT NOT NULL,
    CONSTRAINT "password_entries_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "password_entries" ADD CONSTRAINT "password_entries_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
`,
  '0033_scheduled_backups': `-- Backups live in \${DATA_DIR}/backup (bind mount /var/lib/weavestream/backup)
CREATE TYPE "BackupRunKind" AS ENUM ('SCHEDULED', 'MANUAL');
CREATE TYPE "BackupRunStatus" AS ENUM ('queued', 'running', 'success', 'failed');

CREATE TABLE "backup_config" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "cron" TEXT NOT NULL,
    "timezone" TEXT,
    "retention" JSONB NOT NULL,
    "notify_emails" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "notify_on_success" BOOLEAN NOT NULL DEFAULT false,
    "last_run_at" TIMESTAMP(3),
    "created_by" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "backup_config_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "backup_config_enabled_idx" ON "backup_config"("enabled");

CREATE TABLE "backup_run" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "config_id" UUID,
    "kind" "BackupRunKind" NOT NULL,
    "status" "BackupRunStatus" NOT NULL DEFAULT 'queued',
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "size_bytes" BIGINT,
    "manifest" JSONB,
    "dump_path" TEXT,
    "manifest_path" TEXT,
    "error" TEXT,
    "triggered_by" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "backup_run_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "backup_run_config_id_started_at_idx" ON "backup_run"("config_id", "started_at" DESC);
CREATE INDEX "backup_run_status_created_at_idx" ON "backup_run"("status", "created_at");
ALTER TABLE "backup_run" ADD CONSTRAINT "backup_run_config_id_fkey" FOREIGN KEY ("config_id") REFERENCES "backup_config"("id") ON DELETE SET NULL ON UPDATE CASCADE;
`,
};

/** Prisma's bookkeeping table, exactly as `prisma migrate deploy` creates it. */
export const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
);
`;

/** Seed rows; post bodies hold tabs, newlines and backslashes so COPY escaping is exercised. */
export function seedSql(kid: string): string {
  return `
INSERT INTO users (email, name, role, created_at)
  SELECT 'user' || g || '@example.org', 'User ' || g, (CASE WHEN g = 1 THEN 'SUPER_ADMIN' ELSE 'MEMBER' END)::"Role", timestamp '2026-05-01' + g * interval '1 hour'
  FROM generate_series(1, 40) g;
INSERT INTO sessions (user_id, refresh_hash, expires_at)
  SELECT id, md5(email), timestamp '2026-12-01' FROM users ORDER BY email LIMIT 30;
INSERT INTO posts (author_id, title, body, created_at)
  SELECT u.id, 'Post ' || g, E'line one\\nline two\\twith a tab and a backslash \\\\ ' || g, timestamp '2026-06-01' + g * interval '1 minute'
  FROM generate_series(1, 400) g JOIN LATERAL (SELECT id FROM users ORDER BY email OFFSET (g % 40) LIMIT 1) u ON true;
INSERT INTO password_entries (owner_id, label, ciphertext, kid)
  SELECT id, 'vault item of ' || name, decode(md5(email), 'hex'), '${kid}' FROM users ORDER BY email LIMIT 25;
INSERT INTO audit_log (actor_id, action) SELECT id, 'auth.login' FROM users, generate_series(1, 5);
INSERT INTO backup_config (name, cron, timezone, retention, updated_at)
  VALUES ('Nightly', '0 3 * * *', NULL, '{"keepLast":3,"daily":7,"weekly":4,"monthly":12}', now());
INSERT INTO backup_run (config_id, kind, status, started_at, finished_at)
  SELECT id, 'SCHEDULED', 'success', now() - interval '1 day', now() - interval '1 day' + interval '2 seconds' FROM backup_config;
`;
}
