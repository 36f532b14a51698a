/**
 * A minimal WebAssembly assembler: just the encodings and opcodes the vault's two hot loops need
 * (Poly1305's block loop, the chunker's gear hash). Modules are assembled at load time from
 * readable code, so there is no binary blob and no build step.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(n: bigint): number[] {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const signBit = (byte & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

export const I32 = 0x7f;
export const I64 = 0x7e;
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  c64: (n: bigint) => [0x42, ...sleb(n)],
  c32: (n: number) => [0x41, ...sleb(BigInt(n))],
  load8u: (offset: number) => [0x2d, 0, ...uleb(offset)],
  load32: (offset: number) => [0x28, 2, ...uleb(offset)],
  store32: (offset: number) => [0x36, 2, ...uleb(offset)],
  load64: (offset: number) => [0x29, 3, ...uleb(offset)],
  store64: (offset: number) => [0x37, 3, ...uleb(offset)],
  add64: [0x7c],
  mul64: [0x7e],
  and64: [0x83],
  or64: [0x84],
  shl64: [0x86],
  shrU64: [0x88],
  add32: [0x6a],
  and32: [0x71],
  shl32: [0x74],
  eqz32: [0x45],
  geU32: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  return: [0x0f],
  end: [0x0b],
};

/** Flattens code pieces (opcode arrays and single bytes) into one byte list. */
export function code(...parts: (number[] | number)[]): number[] {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return out;
}

/**
 * A module with one exported function `fn` (params and results as value types, `locals` extra
 * locals, `body` its code up to but without the final `end`) and its memory exported as `mem`.
 */
export function assembleModule(spec: { fn: string; params: number[]; results: number[]; locals: [count: number, type: number][]; body: number[]; pages: number }): Uint8Array<ArrayBuffer> {
  const body = [...vec(spec.locals.map(([count, type]) => [...uleb(count), type])), ...spec.body, ...op.end];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(spec.params.map((t) => [t])), ...vec(spec.results.map((t) => [t]))]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(spec.pages)]])),
    ...section(7, vec([[...name(spec.fn), 0x00, 0], [...name('mem'), 0x02, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}
