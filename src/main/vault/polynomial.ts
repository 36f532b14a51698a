/**
 * The chunker polynomial in `config` (spec §4). Lifeboat chunks with a gear hash and never uses it,
 * but restic refuses a repository whose polynomial is not irreducible, and uses it for its own backups.
 * This is a BigInt port of restic/chunker's `RandomPolynomial` and `Irreducible` (Ben-Or test).
 */
import { randomBytes } from 'node:crypto';

const deg = (p: bigint): number => (p === 0n ? -1 : p.toString(2).length - 1);

function mod(x: bigint, m: bigint): bigint {
  const dm = deg(m);
  let r = x;
  for (let d = deg(r); d >= dm; d = deg(r)) r ^= m << BigInt(d - dm);
  return r;
}

function mulMod(a: bigint, b: bigint, m: bigint): bigint {
  let product = 0n;
  let shifted = a;
  for (let bits = b; bits > 0n; bits >>= 1n) {
    if (bits & 1n) product ^= shifted;
    shifted <<= 1n;
  }
  return mod(product, m);
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, mod(x, y)];
  return x;
}

/** Ben-Or: f is irreducible iff gcd(f, x^(2^i) − x mod f) = 1 for every i ≤ deg(f)/2. */
export function isIrreducible(f: bigint): boolean {
  let q = 2n; // the polynomial "x"
  for (let i = 1; i <= deg(f) / 2; i++) {
    q = mulMod(q, q, f);
    if (gcd(f, q ^ 2n) !== 1n) return false;
  }
  return true;
}

/** Draws random degree-53 polynomials the way restic does until one is irreducible; lower-case hex. */
export function randomIrreduciblePolynomial(): string {
  for (;;) {
    let f = randomBytes(8).readBigUInt64LE() & ((1n << 54n) - 1n);
    f |= (1n << 53n) | 1n;
    if (isIrreducible(f)) return f.toString(16);
  }
}
