// Glob patterns (`*`, `**`, `?`, `[…]`, `{a,b}`, `\` escapes) matched without regular expressions.
// picomatch, minimatch and micromatch compile a glob to a backtracking RegExp, and V8's RegExp engine
// takes exponential time on `*?*?*?…Q`; Node's path.matchesGlob uses minimatch. So this module simulates
// the pattern's automaton (Thompson's NFA: all live positions advance together, one character at a time),
// which costs at most O(pattern tokens × path characters) per match whatever the input, never backtracks,
// gives way to the event loop during long matches, and counts its work against a limit per call.
import { ToolError } from '../define.ts';

/** Largest number of alternatives `{…}` may expand to, and of tokens over all of them. */
export const MAX_ALTERNATIVES = 256;
export const MAX_TOKENS = 8_192;

type Token =
  | { kind: 'literal'; char: string }
  | { kind: 'one' } // ?  one character except /
  | { kind: 'class'; negated: boolean; ranges: readonly (readonly [number, number])[] } // [a-z] [!x]
  | { kind: 'star' } // *   any run of characters except /
  | { kind: 'globstar' } // **  any run of characters, / included
  | { kind: 'globstarSlash' }; // **/ nothing, or anything that ends in /

const tooComplex = (): never => {
  throw new ToolError(
    'pattern_too_complex',
    `the pattern expands to more than ${MAX_ALTERNATIVES} alternatives or ${MAX_TOKENS} tokens`,
  );
};

/** Index of the `}` closing the `{` at `open` when a top-level `,` lies between them, else -1. */
const braceEnd = (chars: readonly string[], open: number): { close: number; commas: number[] } | undefined => {
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < chars.length; i += 1) {
    const c = chars[i];
    if (c === '\\') i += 1;
    else if (c === '{') depth += 1;
    else if (c === '}') {
      depth -= 1;
      if (depth === 0) return commas.length > 0 ? { close: i, commas } : undefined;
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return undefined;
};

/** `a{b,c{d,e}}f` → abf, acdf, acef; an unbalanced or comma-less brace stays literal. Bounded. */
const expandBraces = (chars: readonly string[]): string[][] => {
  for (let i = 0; i < chars.length; i += 1) {
    if (chars[i] === '\\') {
      i += 1;
      continue;
    }
    if (chars[i] !== '{') continue;
    const found = braceEnd(chars, i);
    if (!found) continue;
    const head = chars.slice(0, i);
    const tails = expandBraces(chars.slice(found.close + 1));
    const bounds = [i, ...found.commas, found.close];
    const out: string[][] = [];
    for (let k = 0; k + 1 < bounds.length; k += 1) {
      for (const middle of expandBraces(chars.slice(bounds[k]! + 1, bounds[k + 1]!))) {
        for (const tail of tails) {
          out.push([...head, ...middle, ...tail]);
          if (out.length > MAX_ALTERNATIVES) tooComplex();
        }
      }
    }
    return out;
  }
  return [[...chars]];
};

const parseClass = (chars: readonly string[], open: number): { token: Token; end: number } | undefined => {
  let i = open + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i += 1;
  const ranges: [number, number][] = [];
  let first = true;
  for (; i < chars.length; i += 1) {
    let c = chars[i]!;
    if (c === ']' && !first) return { token: { kind: 'class', negated, ranges }, end: i };
    first = false;
    if (c === '\\' && i + 1 < chars.length) c = chars[(i += 1)]!;
    const from = c.codePointAt(0)!;
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let to = chars[i + 2]!;
      i += 2;
      if (to === '\\' && i + 1 < chars.length) to = chars[(i += 1)]!;
      ranges.push([from, to.codePointAt(0)!]);
    } else ranges.push([from, from]);
  }
  return undefined; // no closing ]: the [ is a literal
};

const tokenize = (chars: readonly string[]): Token[] => {
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i += 1) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) tokens.push({ kind: 'literal', char: chars[(i += 1)]! });
    else if (c === '*') {
      if (chars[i + 1] === '*') {
        const slash = chars[i + 2] === '/';
        tokens.push({ kind: slash ? 'globstarSlash' : 'globstar' });
        i += slash ? 2 : 1;
        while (chars[i + 1] === '*' && !slash) i += 1; // *** is **
      } else tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === '[') {
      const parsed = parseClass(chars, i);
      if (parsed) {
        tokens.push(parsed.token);
        i = parsed.end;
      } else tokens.push({ kind: 'literal', char: c });
    } else tokens.push({ kind: 'literal', char: c });
  }
  return tokens;
};

const consumes = (token: Token, char: string): boolean => {
  switch (token.kind) {
    case 'literal':
      return token.char === char;
    case 'one':
      return char !== '/';
    case 'class': {
      if (char === '/') return false;
      const code = char.codePointAt(0)!;
      return token.ranges.some(([from, to]) => code >= from && code <= to) !== token.negated;
    }
    default:
      return false;
  }
};

const repeats = (token: Token): boolean =>
  token.kind === 'star' || token.kind === 'globstar' || token.kind === 'globstarSlash';

/** Work done by the matchers of one call, so a pattern that is cheap per path cannot be costly in sum. */
export type GlobWork = { steps: number; readonly limit: number; readonly pace: () => Promise<void> };

/** A few seconds of CPU at most, far above any ordinary glob over MAX_ENTRIES paths (about 1M steps). */
export const MAX_STEPS = 50_000_000;
/** Steps between two chances to give way (a few milliseconds). */
const PACE_STEPS = 20_000;

export const globWork = (pace: () => Promise<void> = async () => undefined): GlobWork => ({
  steps: 0,
  limit: MAX_STEPS,
  pace,
});

/**
 * Runs the automaton of one alternative over the characters of a path. Only live positions are visited
 * (a generation stamp marks membership), so the cost per character is the number of live positions.
 */
const run = async (tokens: readonly Token[], chars: readonly string[], work: GlobWork): Promise<boolean> => {
  const end = tokens.length;
  const seen = new Uint32Array(end + 1);
  let generation = 1;
  let live: number[] = [];
  let next: number[] = [];
  let checked = work.steps;
  // Adds a position and, since a repeat may match nothing, the positions after a run of repeats.
  const add = (list: number[], from: number) => {
    for (let i = from; seen[i] !== generation; i += 1) {
      seen[i] = generation;
      list.push(i);
      if (i === end || !repeats(tokens[i]!)) break;
    }
  };
  add(live, 0);
  for (let c = 0; c < chars.length; c += 1) {
    const char = chars[c]!;
    generation += 1;
    next.length = 0;
    for (const i of live) {
      if (i === end) continue;
      const token = tokens[i]!;
      if (token.kind === 'star') {
        if (char !== '/') add(next, i);
      } else if (token.kind === 'globstar') add(next, i);
      else if (token.kind === 'globstarSlash') {
        add(next, i);
        if (char === '/') add(next, i + 1);
      } else if (consumes(token, char)) add(next, i + 1);
    }
    work.steps += live.length;
    if (next.length === 0) return false;
    [live, next] = [next, live];
    if (work.steps - checked > PACE_STEPS) {
      checked = work.steps;
      if (work.steps > work.limit) tooMuchWork();
      await work.pace();
    }
  }
  if (work.steps > work.limit) tooMuchWork();
  return seen[end] === generation;
};

const tooMuchWork = (): never => {
  throw new ToolError(
    'pattern_too_complex',
    'matching the patterns against this tree takes too much work; use simpler patterns or a smaller directory',
  );
};

export type GlobMatcher = (relative: string) => Promise<boolean>;

/**
 * Matches a `/`-separated relative path; a pattern without `/` also matches the last name at any depth
 * (like minimatch's matchBase). Throws ToolError pattern_too_complex when braces expand too far, or
 * when the call's matching work passes its limit.
 */
export const globMatcher = (pattern: string, work: GlobWork = globWork()): GlobMatcher => {
  const alternatives = expandBraces(Array.from(pattern)).map(tokenize);
  if (alternatives.reduce((sum, tokens) => sum + tokens.length, 0) > MAX_TOKENS) tooComplex();
  const matches = async (text: string) => {
    const chars = Array.from(text);
    for (const tokens of alternatives) if (await run(tokens, chars, work)) return true;
    return false;
  };
  const base = !pattern.includes('/');
  return async (relative) =>
    (await matches(relative)) ||
    (base && relative.includes('/') && (await matches(relative.slice(relative.lastIndexOf('/') + 1))));
};
