/**
 * Walks the data section of a custom archive (spec §6) chunk by chunk without decompressing:
 * block type byte + dump id, then length-prefixed chunks ending with a zero length (BLOBS blocks:
 * a LO OID before each LO's chunks, a zero OID at the end). It only reads chunk headers and skips
 * payloads, so it keeps no data and runs at the speed of reading the file. Push-style and
 * synchronous per chunk because a 2 GiB zlib dump has half a million chunk headers: an `await`
 * per header would cost more than the reading itself.
 */
import { LifeboatError } from '../../../shared/errors';
import { decodePgInt } from './primitives';
import type { PgDumpBlockInfo, PgDumpTocEntry } from './types';

const BLK_DATA = 1;
const BLK_BLOBS = 3;

const enum State {
  BlockType,
  DumpId,
  ChunkLength,
  ChunkBody,
  LoOid,
}

/** Describes an entry for error messages: `TABLE DATA public.users (dump id 3386)`. */
export function describeEntry(entry: PgDumpTocEntry): string {
  const name = entry.namespace ? `${entry.namespace}.${entry.tag}` : entry.tag;
  return `${entry.desc} ${name} (dump id ${entry.dumpId})`;
}

/** Push-style walker; `push` every chunk after the TOC in order, then `finish` at EOF. */
export class DataBlockWalker {
  private state = State.BlockType;
  private base: number;
  private readonly intLen: number;
  private readonly pending: Buffer;
  private pendingFill = 0;
  private bodyLeft = 0;
  private blockType = 0;
  private blockStart = 0;
  private current: { entry: PgDumpTocEntry; info: PgDumpBlockInfo } | null = null;
  private currentLo: { oid: number; storedBytes: number } | null = null;
  private readonly byId = new Map<number, PgDumpTocEntry>();
  private readonly done = new Set<number>();
  private lastFinished: PgDumpTocEntry | null = null;

  constructor(
    private readonly intSize: number,
    private readonly dataEntries: PgDumpTocEntry[],
    start: number,
  ) {
    this.base = start;
    this.intLen = intSize + 1;
    this.pending = Buffer.alloc(this.intLen);
    for (const entry of dataEntries) this.byId.set(entry.dumpId, entry);
  }

  /** Absolute offset of the next byte expected. */
  get position(): number {
    return this.base;
  }

  /** Consumes one chunk of the file; throws ARCHIVE_INVALID on corruption. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.state === State.ChunkBody) {
        const take = Math.min(this.bodyLeft, n - i);
        i += take;
        this.bodyLeft -= take;
        if (this.current) this.current.info.storedBytes += take;
        if (this.currentLo) this.currentLo.storedBytes += take;
        if (this.bodyLeft === 0) this.state = State.ChunkLength;
        continue;
      }
      if (this.state === State.BlockType) {
        this.startBlock(chunk[i] as number, this.base + i);
        i += 1;
        continue;
      }
      let value: number;
      if (this.pendingFill === 0 && n - i >= this.intLen) {
        value = decodePgInt(chunk, i, this.intSize);
        i += this.intLen;
      } else {
        const take = Math.min(this.intLen - this.pendingFill, n - i);
        chunk.copy(this.pending, this.pendingFill, i, i + take);
        this.pendingFill += take;
        i += take;
        if (this.pendingFill < this.intLen) continue;
        this.pendingFill = 0;
        value = decodePgInt(this.pending, 0, this.intSize);
      }
      this.onInt(value, this.base + i);
    }
    this.base += n;
  }

  /** Call at end of input: throws ARCHIVE_INVALID naming how far the data got if anything is missing. */
  finish(): void {
    if (this.state !== State.BlockType || this.pendingFill !== 0) {
      const where = this.current ? `inside the data block of ${describeEntry(this.current.entry)}` : 'inside a data block header';
      throw this.truncated(`the archive is truncated: it ends at byte ${this.base} ${where}`);
    }
    const missing = this.dataEntries.filter((e) => !this.done.has(e.dumpId));
    if (missing.length > 0) {
      const after = this.lastFinished ? `after the data of ${describeEntry(this.lastFinished)}` : 'before the first data block';
      throw this.truncated(`the archive is truncated: it ends at byte ${this.base} ${after}`);
    }
  }

  private truncated(message: string): LifeboatError {
    const missing = this.dataEntries.filter((e) => !this.done.has(e.dumpId));
    const names = missing.slice(0, 5).map(describeEntry).join(', ');
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    return new LifeboatError('ARCHIVE_INVALID', `${message}; ${missing.length} of ${this.dataEntries.length} data entries are incomplete or missing (${names}${more}).`, {
      details: { reason: 'truncated', position: this.base, missingDumpIds: missing.map((e) => e.dumpId), completeDataEntries: this.done.size },
    });
  }

  private corrupt(message: string, position: number): LifeboatError {
    return new LifeboatError('ARCHIVE_INVALID', `The archive's data section is corrupt at byte ${position}: ${message}.`, {
      details: { reason: 'corrupt-data', position },
    });
  }

  private startBlock(type: number, position: number): void {
    if (type !== BLK_DATA && type !== BLK_BLOBS) throw this.corrupt(`unknown data block type ${type}`, position);
    this.blockType = type;
    this.blockStart = position;
    this.state = State.DumpId;
  }

  private onInt(value: number, after: number): void {
    switch (this.state) {
      case State.DumpId:
        this.openBlock(value);
        return;
      case State.ChunkLength:
        if (value < 0) throw this.corrupt(`negative chunk length ${value} in ${this.currentName()}`, after - this.intLen);
        if (value > 0) {
          this.bodyLeft = value;
          this.state = State.ChunkBody;
        } else if (this.blockType === BLK_BLOBS) {
          this.currentLo = null;
          this.state = State.LoOid;
        } else {
          this.closeBlock(after);
        }
        return;
      case State.LoOid:
        if (value === 0) {
          this.closeBlock(after);
          return;
        }
        // pg_dump writes the OID through a C int: OIDs ≥ 2^31 arrive negative.
        this.currentLo = { oid: value < 0 ? 0x1_0000_0000 + value : value, storedBytes: 0 };
        this.current?.info.largeObjects?.push(this.currentLo);
        this.state = State.ChunkLength;
        return;
      default:
        throw new LifeboatError('INTERNAL', `data walk read an int in state ${this.state}`);
    }
  }

  private openBlock(dumpId: number): void {
    const entry = this.byId.get(dumpId);
    if (!entry) throw this.corrupt(`a data block names dump id ${dumpId}, which is not a data entry of the TOC`, this.blockStart);
    if (this.done.has(dumpId)) throw this.corrupt(`a second data block for ${describeEntry(entry)}`, this.blockStart);
    const wantBlobs = entry.desc === 'BLOBS';
    if (wantBlobs !== (this.blockType === BLK_BLOBS)) {
      throw this.corrupt(`block type ${this.blockType} does not fit ${describeEntry(entry)}`, this.blockStart);
    }
    if (entry.dataOffset !== null && entry.dataOffset !== this.blockStart) {
      throw this.corrupt(`${describeEntry(entry)} is recorded at byte ${entry.dataOffset} but its block starts at byte ${this.blockStart}`, this.blockStart);
    }
    const info: PgDumpBlockInfo = { start: this.blockStart, bytes: 0, storedBytes: 0 };
    if (wantBlobs) info.largeObjects = [];
    this.current = { entry, info };
    this.state = wantBlobs ? State.LoOid : State.ChunkLength;
  }

  private closeBlock(after: number): void {
    const current = this.current;
    if (!current) throw new LifeboatError('INTERNAL', 'data walk closed a block that was never opened');
    current.info.bytes = after - current.info.start;
    current.entry.block = current.info;
    this.done.add(current.entry.dumpId);
    this.lastFinished = current.entry;
    this.current = null;
    this.state = State.BlockType;
  }

  private currentName(): string {
    return this.current ? describeEntry(this.current.entry) : 'a data block';
  }
}
