/**
 * The userspace runtime's pseudo-random source (what `bpf_get_prandom_u32` returns): xorshift32, seeded so runs
 * reproduce. The tests' seeded generators (test/fixtures/random.ts) use it too.
 */

/** xorshift32 (Marsaglia): a generator of u32 words; seed 0 is taken as 1 (xorshift never leaves 0). */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
