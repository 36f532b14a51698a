/**
 * Fast Poly1305 for restic's MAC. Node has no raw Poly1305 API, and the pure-JS one in
 * @noble/ciphers (16-bit limbs) runs at ~150 MB/s — the slowest step of ingest. This module
 * assembles a tiny WebAssembly function at load time (no binary blob, no build step) that runs
 * the block loop of poly1305-donna-32 (five 26-bit limbs, 64-bit products), ~5–8× faster.
 * Key setup and the final reduction run in JS (BigInt, once per message). Tested against noble.
 */
import { assembleModule, code as assemble, I32, I64, op } from './wasm-asm';

/** Linear-memory layout: state at 0 (h0..h4, r0..r4, s1..s4 as i64), message bytes from MSG_OFFSET. */
const STATE_H = 0;
const STATE_R = 40;
const STATE_S = 80;
const MSG_OFFSET = 128;
/** Bytes of message handed to the block loop per call (a multiple of 16). */
const SEGMENT = 1024 * 1024;
const PAGES = Math.ceil((MSG_OFFSET + SEGMENT) / 65536);

/** Builds `blocks(ptr: i32, end: i32, hibit: i64)`: absorbs the 16-byte blocks in [ptr, end). */
function buildModule(): Uint8Array<ArrayBuffer> {
  // params: 0 ptr, 1 end, 2 hibit; i64 locals: h0..h4 = 3..7, r0..r4 = 8..12, s1..s4 = 13..16, lo 17, hi 18, d0..d4 19..23, c 24
  const H = (i: number): number => 3 + i;
  const R = (i: number): number => 8 + i;
  const S = (i: number): number => 13 + i - 1;
  const LO = 17;
  const HI = 18;
  const D = (i: number): number => 19 + i;
  const C = 24;
  const MASK = 0x3ffffffn;
  const code: number[] = [];
  const emit = (...parts: (number[] | number)[]): void => {
    code.push(...assemble(...parts));
  };
  // load state
  for (let i = 0; i < 5; i++) emit(op.c32(0), op.load64(STATE_H + 8 * i), op.set(H(i)));
  for (let i = 0; i < 5; i++) emit(op.c32(0), op.load64(STATE_R + 8 * i), op.set(R(i)));
  for (let i = 1; i <= 4; i++) emit(op.c32(0), op.load64(STATE_S + 8 * (i - 1)), op.set(S(i)));
  emit(op.block, op.loop);
  emit(op.get(0), op.get(1), op.geU32, op.brIf(1));
  emit(op.get(0), op.load64(0), op.set(LO), op.get(0), op.load64(8), op.set(HI));
  // h0 += lo & mask; h1 += (lo >> 26) & mask; h2 += ((lo >> 52) | (hi << 12)) & mask; h3 += (hi >> 14) & mask; h4 += (hi >> 40) | hibit
  emit(op.get(H(0)), op.get(LO), op.c64(MASK), op.and64, op.add64, op.set(H(0)));
  emit(op.get(H(1)), op.get(LO), op.c64(26n), op.shrU64, op.c64(MASK), op.and64, op.add64, op.set(H(1)));
  emit(op.get(H(2)), op.get(LO), op.c64(52n), op.shrU64, op.get(HI), op.c64(12n), op.shl64, op.or64, op.c64(MASK), op.and64, op.add64, op.set(H(2)));
  emit(op.get(H(3)), op.get(HI), op.c64(14n), op.shrU64, op.c64(MASK), op.and64, op.add64, op.set(H(3)));
  emit(op.get(H(4)), op.get(HI), op.c64(40n), op.shrU64, op.get(2), op.or64, op.add64, op.set(H(4)));
  // d_k = sum_i h_i * (i <= k ? r_{k-i} : s_{5+k-i})
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 5; i++) {
      const factor = i <= k ? R(k - i) : S(5 + k - i);
      emit(op.get(H(i)), op.get(factor), op.mul64);
      if (i > 0) emit(op.add64);
    }
    emit(op.set(D(k)));
  }
  // carry chain
  for (let k = 0; k < 5; k++) {
    if (k > 0) emit(op.get(D(k)), op.get(C), op.add64, op.set(D(k)));
    emit(op.get(D(k)), op.c64(26n), op.shrU64, op.set(C));
    emit(op.get(D(k)), op.c64(MASK), op.and64, op.set(H(k)));
  }
  // h0 += c * 5; c = h0 >> 26; h0 &= mask; h1 += c
  emit(op.get(H(0)), op.get(C), op.c64(5n), op.mul64, op.add64, op.tee(H(0)), op.c64(26n), op.shrU64, op.set(C));
  emit(op.get(H(0)), op.c64(MASK), op.and64, op.set(H(0)));
  emit(op.get(H(1)), op.get(C), op.add64, op.set(H(1)));
  emit(op.get(0), op.c32(16), op.add32, op.set(0), op.br(0), op.end, op.end);
  for (let i = 0; i < 5; i++) emit(op.c32(0), op.get(H(i)), op.store64(STATE_H + 8 * i));
  return assembleModule({ fn: 'blocks', params: [I32, I32, I64], results: [], locals: [[22, I64]], body: code, pages: PAGES });
}

interface Exports {
  blocks: (ptr: number, end: number, hibit: bigint) => void;
  mem: WebAssembly.Memory;
}

let instance: Exports | null = null;

function wasm(): Exports {
  if (!instance) {
    const module = new WebAssembly.Module(buildModule());
    instance = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  }
  return instance;
}

const P = (1n << 130n) - 5n;
const MASK26 = (1n << 26n) - 1n;
const HIBIT = 1n << 24n;

function leBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return v;
}

/** Poly1305 tag of `msg` under the 32-byte one-time key `r ‖ s` (r is clamped here, as RFC 8439 says). */
export function poly1305Tag(msg: Uint8Array, key: Uint8Array): Uint8Array {
  const { blocks, mem } = wasm();
  const view = new DataView(mem.buffer);
  const bytes = new Uint8Array(mem.buffer);
  const r = Uint8Array.from(key.subarray(0, 16));
  for (const i of [3, 7, 11, 15]) r[i] = (r[i] as number) & 0x0f;
  for (const i of [4, 8, 12]) r[i] = (r[i] as number) & 0xfc;
  const rBig = leBigInt(r);
  for (let i = 0; i < 5; i++) {
    const limb = (rBig >> BigInt(26 * i)) & MASK26;
    view.setBigUint64(STATE_R + 8 * i, limb, true);
    if (i > 0) view.setBigUint64(STATE_S + 8 * (i - 1), limb * 5n, true);
    view.setBigUint64(STATE_H + 8 * i, 0n, true);
  }
  const full = msg.length - (msg.length % 16);
  for (let at = 0; at < full; at += SEGMENT) {
    const n = Math.min(SEGMENT, full - at);
    bytes.set(msg.subarray(at, at + n), MSG_OFFSET);
    blocks(MSG_OFFSET, MSG_OFFSET + n, HIBIT);
  }
  if (full < msg.length) {
    // Last partial block: the bytes, a 1, then zeros, and no high bit.
    bytes.fill(0, MSG_OFFSET, MSG_OFFSET + 16);
    bytes.set(msg.subarray(full), MSG_OFFSET);
    bytes[MSG_OFFSET + msg.length - full] = 1;
    blocks(MSG_OFFSET, MSG_OFFSET + 16, 0n);
  }
  let h = 0n;
  for (let i = 4; i >= 0; i--) h = (h << 26n) + view.getBigUint64(STATE_H + 8 * i, true);
  const tag = ((h % P) + leBigInt(key.subarray(16, 32))) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  let t = tag;
  for (let i = 0; i < 16; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}
