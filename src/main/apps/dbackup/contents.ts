/**
 * What a decrypted, decompressed DBackup payload holds, told from its first bytes (as DBackup's
 * smart recovery does): a Postgres custom dump (`PGDMP`, though DBackup names it `.sql`), a v1
 * multi-DB TAR (`manifest.json` first, then one dump per database), a config backup (JSON), or
 * another engine's dump, which Lifeboat names but does not read.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { LifeboatError } from '../../../shared/errors';
import type { DecompressBudget } from '../../formats/decompress-budget';
import { readPgDumpToc, type PgDumpArchive } from '../../formats/pgdump';
import { knownMagic } from '../../formats/gcm';
import { summarizeConfigBackup, type ConfigSummary } from './config-backup';
import { readCapped, walkTar, type TarMember } from './tar-walk';

/** Caps of reading a payload's contents. */
export interface ContentLimits {
  /** Largest config backup JSON held in memory. */
  maxConfigBytes: number;
  /** Largest v1 TAR manifest. */
  maxManifestBytes: number;
}

const DEFAULT_LIMITS: ContentLimits = { maxConfigBytes: 64 * 1024 * 1024, maxManifestBytes: 1024 * 1024 };
const SNIFF_BYTES = 512;

const manifestSchema = z.looseObject({
  version: z.literal(1),
  createdAt: z.string().nullish(),
  sourceType: z.string().nullish(),
  engineVersion: z.string().nullish(),
  databases: z.array(z.looseObject({ name: z.string().min(1), filename: z.string().min(1), size: z.number().int().min(0).nullish(), format: z.enum(['sql', 'custom', 'archive', 'bak', 'fbk']) })),
  totalSize: z.number().min(0).nullish(),
});

/** The `manifest.json` of a v1 multi-DB TAR. */
export type MultiDbManifest = z.infer<typeof manifestSchema>;

/** One database of a multi-DB TAR: what the manifest says and what its member held. */
export interface TarDatabase {
  name: string;
  filename: string;
  format: string;
  manifestSize: number | null;
  member: TarMember | null;
  /** Its TOC, for a Postgres custom dump that read cleanly. */
  archive: PgDumpArchive | null;
  problem: string | null;
}

/** A payload's contents, by kind. */
export type PayloadContents =
  | { kind: 'pg-custom'; bytes: number; archive: PgDumpArchive }
  | { kind: 'multi-db-tar'; bytes: number; manifest: MultiDbManifest | null; manifestProblem: string | null; firstMember: string | null; databases: TarDatabase[]; strayMembers: TarMember[] }
  | { kind: 'config'; bytes: number; summary: ConfigSummary }
  | { kind: 'other'; bytes: number; what: string };

/** Counts what passes through a stream. */
function counted(stream: Readable, onBytes: (n: number) => void): Readable {
  stream.on('data', (chunk: Buffer) => onBytes(chunk.length));
  return stream;
}

/** The first `n` bytes of a stream, and the whole stream again (those bytes first). */
export async function peek(stream: Readable, n: number): Promise<{ head: Buffer; whole: Readable }> {
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < n) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* again(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      while (!ended) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // A reader that stops early (a TOC) ends the source too.
      await iterator.return?.();
    }
  }
  return { head, whole: Readable.from(again(), { objectMode: false }) };
}

/** What bytes of an engine Lifeboat does not read look like. */
function describeOther(head: Buffer): string {
  const magic = knownMagic(head);
  if (magic) return magic;
  const text = head.toString('latin1');
  if (/^(--|\/\*|SET |CREATE |INSERT |DROP |USE )/m.test(text.slice(0, 200))) return 'plain SQL text (mysqldump, or pg_dump in plain format)';
  return head.length === 0 ? 'nothing (an empty payload)' : 'data Lifeboat does not recognise';
}

/** Reads the payload to its end (or as far as its reader needs) and says what it holds. */
export async function readContents(stream: Readable, label: string, options: { signal?: AbortSignal; limits?: Partial<ContentLimits>; budget?: DecompressBudget } = {}): Promise<PayloadContents> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  let bytes = 0;
  const { head, whole } = await peek(counted(stream, (n) => (bytes += n)), SNIFF_BYTES);
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    const archive = await readPgDumpToc(whole, { scanData: true, label, ...(options.signal ? { signal: options.signal } : {}) });
    return { kind: 'pg-custom', bytes, archive };
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    const tarContents = await readMultiDbTar(whole, label, limits, options.signal, options.budget);
    return { kind: 'multi-db-tar', bytes, ...tarContents };
  }
  if (/^\s*\{/.test(head.subarray(0, 64).toString('latin1'))) {
    const text = (await readCapped(whole, limits.maxConfigBytes, `${label} (config JSON)`)).toString('utf8');
    return { kind: 'config', bytes, summary: summarizeConfigBackup(text, label) };
  }
  const what = describeOther(head);
  for await (const chunk of whole) void chunk;
  return { kind: 'other', bytes, what };
}

/** `budget`: the payload's, whose blocks become the TAR's members (so a bomb names the member it is in). */
async function readMultiDbTar(stream: Readable, label: string, limits: ContentLimits, signal: AbortSignal | undefined, budget: DecompressBudget | undefined) {
  let manifest: MultiDbManifest | null = null;
  let manifestProblem: string | null = null;
  let firstMember: string | null = null;
  const tocs = new Map<string, { archive: PgDumpArchive | null; problem: string | null }>();
  const members = await walkTar(stream, label, (member) => {
    budget?.startBlock(`${label}: member ${member.name}`);
    if (member.index === 0) firstMember = member.name;
    if (member.name === 'manifest.json' && manifest === null && manifestProblem === null) {
      return async (body) => {
        try {
          const text = (await readCapped(body, limits.maxManifestBytes, `${label}: manifest.json`)).toString('utf8');
          manifest = parseManifest(text, `${label}: manifest.json`);
        } catch (error) {
          if (!(error instanceof LifeboatError)) throw error;
          manifestProblem = error.message;
        }
      };
    }
    const listed = manifest?.databases.find((d) => d.filename === member.name);
    if (listed ? listed.format !== 'custom' : !member.name.endsWith('.dump')) return null;
    return async (body) => {
      try {
        tocs.set(member.name, { archive: await readPgDumpToc(body, { scanData: true, label: `${label}: ${member.name}`, ...(signal ? { signal } : {}) }), problem: null });
      } catch (error) {
        if (!(error instanceof LifeboatError) || error.code === 'CANCELLED') throw error;
        tocs.set(member.name, { archive: null, problem: error.message });
      }
    };
  });
  const found = manifest as MultiDbManifest | null;
  const byName = new Map(members.map((m) => [m.name, m]));
  const databases: TarDatabase[] = (found?.databases ?? []).map((d) => {
    const member = byName.get(d.filename) ?? null;
    const toc = tocs.get(d.filename);
    return { name: d.name, filename: d.filename, format: d.format, manifestSize: d.size ?? null, member, archive: toc?.archive ?? null, problem: member ? (toc?.problem ?? null) : `the manifest names ${d.filename}, which the TAR does not hold` };
  });
  const named = new Set([...(found?.databases ?? []).map((d) => d.filename), 'manifest.json']);
  return { manifest: found, manifestProblem: found || manifestProblem ? manifestProblem : 'the TAR holds no manifest.json', firstMember, databases, strayMembers: members.filter((m) => !named.has(m.name)) };
}

function parseManifest(text: string, label: string): MultiDbManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LifeboatError('ARCHIVE_INVALID', `${label} is not JSON: ${(error as Error).message}.`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LifeboatError('ARCHIVE_INVALID', `${label} is not a DBackup multi-DB manifest: ${issue?.path.join('.') || 'the top level'} ${issue?.message ?? 'is invalid'}.`, { details: { field: issue?.path.join('.') ?? null } });
  }
  return parsed.data;
}
