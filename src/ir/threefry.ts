// Threefry-2x32 with 20 rounds, the counter-based generator behind `random_bits` (Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", with the Random123 constants). The MSL codegen
// emits this same loop, so it stays a plain loop rather than an unrolled one.

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
/** The key schedule's third word is this constant xor both key words. */
const KS_PARITY = 0x1bd11bda;
const ROUNDS = 20;

const add32 = (a: number, b: number): number => (a + b) >>> 0;
const rotl32 = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/**
 * Threefry-2x32-20 of the counter `(x0, x1)` under the key `(k0, k1)`; all words uint32.
 * Random123's `threefry2x32(ctr, key)` takes the counter first; here the key comes first.
 */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (KS_PARITY ^ k0 ^ k1) >>> 0];
  // Key injection s adds the schedule rotated by s, plus s itself so no two injections are equal.
  let a = add32(x0 >>> 0, ks[0]!);
  let b = add32(x1 >>> 0, ks[1]!);
  for (let r = 0; r < ROUNDS; r++) {
    a = add32(a, b);
    b = (rotl32(b, ROTATIONS[r % 8]!) ^ a) >>> 0;
    if (r % 4 === 3) {
      const s = (r + 1) / 4;
      a = add32(a, ks[s % 3]!);
      b = add32(add32(b, ks[(s + 1) % 3]!), s);
    }
  }
  return [a, b];
}
