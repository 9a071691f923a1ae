// Seeded randomness for the memory benches' stub embeddings: mulberry32 (small, seeded, good enough for
// test data) and Box-Muller for normal noise, so every run and every bench draws the same vectors.

/** A seeded source: `uniform` in [0, 1) and standard `normal` draws, in one shared sequence. */
export const stubRandom = (seed = 42) => {
  let state = seed;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
};

/** Scales `out` to unit length in place (a zero vector stays zero). */
export const unitInto = (out: Float32Array): Float32Array => {
  let sum = 0;
  for (let i = 0; i < out.length; i += 1) sum += out[i]! * out[i]!;
  const length = Math.sqrt(sum) || 1;
  for (let i = 0; i < out.length; i += 1) out[i]! /= length;
  return out;
};
