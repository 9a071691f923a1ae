// Is recall@10 well defined on bench/memory/vectors.ts's clustered stub embeddings? Within one topic, how far
// apart are the exact 10th and 11th scores, against how far half precision (the graph's copy) moves a score?
// If the gap were within f16 rounding, "recall" would measure noise. Usage:
//   node --import tsx bench/memory/ties.ts [--dims 384] [--per-topic 1000] [--queries 200]
// (1M notes in 1,000 topics: 1,000 per topic; 100k at 1,536 dims: 100 per topic.) Notes of other topics
// score about 0.5 lower than a topic's own, so the top 11 always come from the query's topic.
import { parseArgs } from 'node:util';
import { stubRandom, unitInto } from './stub-random.ts';

const { values } = parseArgs({
  options: {
    dims: { type: 'string', default: '384' },
    'per-topic': { type: 'string', default: '1000' },
    queries: { type: 'string', default: '200' },
  },
});
const DIMS = Number(values.dims);
const PER_TOPIC = Number(values['per-topic']);
const QUERIES = Number(values.queries);

// The same seeded generator as vectors.ts (a unit centre plus noise of about its length).
const { normal } = stubRandom();
const centre = unitInto(Float32Array.from({ length: DIMS }, normal));
const point = () => {
  const out = new Float32Array(DIMS);
  const sigma = 1 / Math.sqrt(DIMS);
  for (let i = 0; i < DIMS; i += 1) out[i] = centre[i]! + normal() * sigma;
  return unitInto(out);
};
/** Rounds to the nearest IEEE 754 half (11 significant bits; subnormal below 2^-14). */
const half = (x: number) => {
  if (x === 0) return 0;
  const step = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(x))), -14) - 10);
  return Math.round(x / step) * step;
};
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < DIMS; i += 1) sum += a[i]! * b[i]!;
  return sum;
};

const notes = Array.from({ length: PER_TOPIC }, point);
const halves = notes.map((v) => Float64Array.from(v, half));
const gaps: number[] = [];
const errors: number[] = [];
let moved = 0;
for (let q = 0; q < QUERIES; q += 1) {
  const query = point();
  const queryHalf = Float64Array.from(query, half);
  const scores = notes.map((v, i) => ({ i, exact: dot(v, query), rounded: dot(halves[i]!, queryHalf) }));
  for (const s of scores) errors.push(Math.abs(s.exact - s.rounded));
  const exact = [...scores].sort((a, b) => b.exact - a.exact);
  gaps.push(exact[9]!.exact - exact[10]!.exact);
  const top = new Set(exact.slice(0, 10).map((s) => s.i));
  moved += [...scores]
    .sort((a, b) => b.rounded - a.rounded)
    .slice(0, 10)
    .filter((s) => !top.has(s.i)).length;
}
gaps.sort((a, b) => a - b);
errors.sort((a, b) => a - b);
const at = (sorted: number[], p: number) => sorted[Math.floor(p * (sorted.length - 1))]!.toExponential(1);
const out = (line: string) => process.stdout.write(`${line}\n`);
out(`\nrecall@10 ties: ${DIMS} dimensions, ${PER_TOPIC} notes of the query's topic, ${QUERIES} queries`);
out('\n| measure | p5 | p50 | p99 |\n|---|---:|---:|---:|');
out(`| exact 10th − 11th score | ${at(gaps, 0.05)} | ${at(gaps, 0.5)} | ${at(gaps, 0.99)} |`);
out(`| f16 rounding of a score | ${at(errors, 0.05)} | ${at(errors, 0.5)} | ${at(errors, 0.99)} |`);
out(`top-10 members that f16 scores would change: ${moved} of ${QUERIES * 10}`);
