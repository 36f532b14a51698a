/**
 * The safety copy before a restore when the installation has no `triggerCommand` (Weavestream has
 * no command-line backup trigger): Lifeboat runs `dumpCommand` — by default the worker's own
 * `pg_dump --format=custom --no-owner --no-acl` inside the postgres container — over SSH and
 * streams its stdout straight into the vault. Nothing is written on the server. Like the worker
 * (spec weavestream.md §1.3) the dump goes through a pipe, so it is the same kind of archive, and
 * it gets the worker's file name and a `.manifest.json` by the worker's rules, so preview and
 * restore treat it like any other Weavestream backup.
 *
 * Where each manifest field comes from, since Lifeboat is not the worker:
 * - `filename`: the UTC time just before the dump starts, named as the worker names its dumps.
 * - `sizeBytes`, `sha256`, `generatedAt`: from the bytes that streamed by, after the last one.
 * - `passwordEncryptionKid`: the target's `.env`, read before the dump; no guess if unreadable (`1`
 *   when the variable is absent, where the worker writes null: the same effective kid).
 * - `weavestreamVersion`, `databaseUrlHostname`: the worker's values in the installation's newest
 *   own manifest, else `unknown` — Lifeboat cannot see the worker's environment.
 * - `prismaMigrationHash`: `unknown:<reason>`, which also marks the dump as Lifeboat's. The worker
 *   hashes the migration files shipped in its image, which the database does not hold (only
 *   per-file checksums in `_prisma_migrations`); any other "sha256:" value would be refused by
 *   the restore preflight's hash comparison, and a value copied from an older manifest could
 *   pass it falsely. The applied migrations are in the dump's `_prisma_migrations`, which the
 *   preflight compares table to table. The manifest has no room for another marker: its schema
 *   refuses unknown keys, and another file name would no longer pair with its sidecar.
 */
import path from 'node:path/posix';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { IntegrityCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { AdapterContext, PullSource, Sidecar, StreamVerifier, WholeArchive } from '../adapter';
import { assertExitOk, sendSignal, type ExecStream } from '../../transport/ssh/exec';
import type { SshSession } from '../../transport/ssh/session';
import { manifestNameFor, pairWeavestreamFiles } from './backup-files';
import { WeavestreamDumpVerifier } from './dump-verifier';
import { readTargetKids } from './env-keys';
import { parseWeavestreamManifest, serializeWeavestreamManifest, type WeavestreamManifest } from './manifest';
import { renderCommand, weavestreamSettings } from './settings';

/** The `prismaMigrationHash` of every live dump; the `unknown:` form the manifest schema allows. */
export const LIVE_DUMP_MIGRATION_HASH = 'unknown:dump made by Lifeboat with dumpCommand over SSH, not by the worker, so the image\'s migration files were not hashed; the applied migrations are in _prisma_migrations';

const MAX_MANIFEST_BYTES = 64 * 1024;

/** Manifest fields known before the dump starts. */
type ManifestFacts = Pick<WeavestreamManifest, 'weavestreamVersion' | 'prismaMigrationHash' | 'passwordEncryptionKid' | 'databaseUrlHostname'>;

/** Opens the live dump as a pull source; its manifest sidecar exists once the last byte passed verification. */
export async function openLiveDump(ctx: AdapterContext): Promise<PullSource> {
  const settings = weavestreamSettings(ctx.installation);
  if (!settings.dumpCommand) {
    throw new LifeboatError('APP_UNSUPPORTED', `"${ctx.installation.name}" has neither triggerCommand nor dumpCommand, so Lifeboat cannot back it up before the restore: set one, or skip the safety pull with a reason.`);
  }
  const session = await ctx.ssh();
  const facts = await manifestFacts(ctx, session, settings.envFile, settings.backupDir);
  const started = new Date();
  const fileName = `weavestream-postgres-${weavestreamStamp(started)}.dump`;
  const describe = `dumpCommand \`${settings.dumpCommand}\``;
  ctx.log(`No triggerCommand: streaming ${fileName} from dumpCommand straight into the vault (nothing is written on the server).`);

  const source: PullSource = {
    remoteId: fileName,
    fileName,
    size: null,
    mtime: started,
    sidecars: [],
    groupPath: settings.backupDir,
    resumable: false,
    async open(offset) {
      if (offset > 0) throw new LifeboatError('INTERNAL', 'A live dump cannot resume: it has to start again.');
      const exec = await session.execStream(renderCommand(settings.dumpCommand, settings), {
        signal: ctx.signal,
        onStderr: (chunk) => ctx.log(`dumpCommand: ${chunk.toString('utf8').trimEnd()}`),
      });
      exec.stdin.end();
      return checkedOutput(exec, describe);
    },
    createVerifier: () => new LiveDumpVerifier(fileName, facts, (sidecar) => {
      source.sidecars = [sidecar];
    }),
  };
  return source;
}

/** `2026-05-01T03-00-00Z`: the worker's file-name stamp (ISO-8601, `:` and `.` to `-`, no milliseconds). */
export function weavestreamStamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[:.]/g, '-');
}

/**
 * Checks the format while the dump streams by (no manifest to compare with), then writes the
 * manifest from the vault's size and SHA-256 of the same bytes and hands it to `onManifest`.
 */
class LiveDumpVerifier implements StreamVerifier {
  private readonly format: WeavestreamDumpVerifier;

  constructor(
    private readonly fileName: string,
    private readonly facts: ManifestFacts,
    private readonly onManifest: (sidecar: Sidecar) => void,
  ) {
    this.format = new WeavestreamDumpVerifier(fileName, null);
  }

  write(chunk: Buffer): void {
    this.format.write(chunk);
  }

  async finish(whole: WholeArchive): Promise<IntegrityCheck[]> {
    const checks = await this.format.finish(whole);
    if (checks.some((c) => !c.ok)) return checks;
    const manifest: WeavestreamManifest = {
      ...this.facts,
      generatedAt: new Date().toISOString(),
      filename: this.fileName,
      sizeBytes: whole.size,
      sha256: whole.sha256,
    };
    const name = manifestNameFor(this.fileName);
    const text = serializeWeavestreamManifest(manifest);
    // Read back as any pulled manifest is: what preview and restore will see must parse.
    parseWeavestreamManifest(text, { source: name });
    this.onManifest({ name, content: Buffer.from(text, 'utf8') });
    return [{ id: 'manifest', kind: 'integrity', name: 'Manifest', ok: true, detail: `${name} written by Lifeboat from the ${whole.size} bytes that streamed by` }, ...checks];
  }
}

/** The manifest fields that do not depend on the dump's bytes (see the file comment). */
async function manifestFacts(ctx: AdapterContext, session: SshSession, envFile: string, backupDir: string): Promise<ManifestFacts> {
  let kid: string;
  try {
    kid = (await readTargetKids(session, envFile, ctx.signal)).current;
  } catch (error) {
    if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
    // A guessed kid could block restoring this very copy, or let a wrong one through.
    throw new LifeboatError(error.code, `Cannot read ${envFile} for the safety copy's password-encryption key id: ${error.message}`, { cause: error });
  }
  const newest = await newestOwnManifest(session, backupDir, ctx.signal);
  if (newest) ctx.log(`Weavestream version and database host for the manifest: as in ${newest.filename}, the newest backup Weavestream made.`);
  else ctx.log('Weavestream has made no backup here yet: the manifest says "unknown" for its version and database host.');
  return {
    weavestreamVersion: newest?.weavestreamVersion ?? 'unknown',
    prismaMigrationHash: LIVE_DUMP_MIGRATION_HASH,
    passwordEncryptionKid: kid,
    databaseUrlHostname: newest?.databaseUrlHostname ?? 'unknown',
  };
}

/** The newest manifest in the backup directory that parses, or null (none, or no directory). */
async function newestOwnManifest(session: SshSession, backupDir: string, signal: AbortSignal): Promise<WeavestreamManifest | null> {
  const entries = await session.list(backupDir).catch((error: unknown) => {
    if (error instanceof LifeboatError && error.code === 'NOT_FOUND') return [];
    throw error;
  });
  const { backups } = pairWeavestreamFiles(entries.filter((e) => e.isFile).map((e) => ({ name: e.name, size: e.size })));
  for (const pair of backups) {
    if (!pair.manifest) continue;
    const text = await session.readFile(path.join(backupDir, pair.manifest.name), { maxBytes: MAX_MANIFEST_BYTES, signal });
    try {
      return parseWeavestreamManifest(text.toString('utf8'), { source: pair.manifest.name });
    } catch (error) {
      // A broken sidecar says nothing about the worker; an older one may.
      if (!(error instanceof LifeboatError) || error.code !== 'ARCHIVE_INVALID') throw error;
    }
  }
  return null;
}

/**
 * The command's stdout, ending only once the command has exited 0: a non-zero exit becomes
 * SSH_COMMAND_FAILED naming the command with stderr's tail (so a failed pg_dump is an error,
 * not a truncated archive for the verifier), a connection lost mid-dump SSH_CHANNEL (the pull
 * runner then starts the dump again). Destroying the stream stops the remote command.
 */
function checkedOutput(exec: ExecStream, describe: string): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let settled = false;
  exec.stdout.pipe(out, { end: false });
  const settle = async (): Promise<void> => {
    const exit = await exec.done;
    await finished(exec.stdout, { writable: false });
    if (exit.code === null && exit.signal === null) {
      throw new LifeboatError('SSH_CHANNEL', `The connection closed before ${describe} reported an exit status.`);
    }
    assertExitOk(exit, describe, exit.stderrTail);
  };
  settle().then(
    () => {
      settled = true;
      out.end();
    },
    (error: unknown) => {
      settled = true;
      out.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  );
  out.once('close', () => {
    if (settled) return;
    // The reader gave up (cancelled, or the vault failed): stop the dump rather than let it run on.
    if (!exec.channel.destroyed) sendSignal(exec.channel, 'TERM');
    exec.channel.close();
  });
  return out;
}
