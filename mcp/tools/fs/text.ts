// Pure helpers of the filesystem tools: exact-match edits, a unified diff for dry runs, glob patterns.
import { ToolError } from '../define.ts';

export type Edit = { oldText: string; newText: string };

const normalizeEol = (text: string): string => text.replace(/\r\n/g, '\n');

/** Applies edits in order; each oldText must occur exactly once (ambiguity is an error, not a guess). */
export const applyEdits = (original: string, edits: readonly Edit[]): string => {
  let text = normalizeEol(original);
  for (const [index, edit] of edits.entries()) {
    const oldText = normalizeEol(edit.oldText);
    if (oldText === '') throw new ToolError('edit_not_found', `edit ${index + 1}: oldText is empty`);
    const first = text.indexOf(oldText);
    if (first < 0) throw new ToolError('edit_not_found', `edit ${index + 1}: oldText was not found in the file`);
    if (text.indexOf(oldText, first + 1) >= 0)
      throw new ToolError('edit_ambiguous', `edit ${index + 1}: oldText occurs more than once; include more context`);
    text = text.slice(0, first) + normalizeEol(edit.newText) + text.slice(first + oldText.length);
  }
  return text;
};

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Line operations turning a into b: common prefix/suffix, an LCS over the changed middle when it is small. */
const lineOps = (a: string[], b: string[]): Op[] => {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const middle: Op[] = [];
  if (midA.length * midB.length <= 4_000_000) {
    const width = midB.length + 1;
    const lcs = new Int32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i -= 1) {
      for (let j = midB.length - 1; j >= 0; j -= 1) {
        lcs[i * width + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * width + j + 1]! + 1
            : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        middle.push({ kind: ' ', line: midA[i]! });
        i += 1;
        j += 1;
      } else if (i < midA.length && (j === midB.length || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        middle.push({ kind: '-', line: midA[i]! });
        i += 1;
      } else {
        middle.push({ kind: '+', line: midB[j]! });
        j += 1;
      }
    }
  } else {
    middle.push(
      ...midA.map((line) => ({ kind: '-' as const, line })),
      ...midB.map((line) => ({ kind: '+' as const, line })),
    );
  }
  return [
    ...a.slice(0, start).map((line) => ({ kind: ' ' as const, line })),
    ...middle,
    ...a.slice(endA).map((line) => ({ kind: ' ' as const, line })),
  ];
};

/** A unified diff (as `diff -u` / git show it) with 3 lines of context. */
export const unifiedDiff = (name: string, before: string, after: string, context = 3): string => {
  const lines = (text: string) => normalizeEol(text).replace(/\n$/, '').split('\n');
  const ops = lineOps(lines(before), lines(after));
  const out = [`--- a/${name}`, `+++ b/${name}`];
  let index = 0;
  while (index < ops.length) {
    const change = ops.findIndex((op, k) => k >= index && op.kind !== ' ');
    if (change < 0) break;
    let from = Math.max(index, change - context);
    let to = change;
    // Extend the hunk while the next change is within 2×context lines.
    for (let k = change; k < ops.length; k += 1) {
      if (ops[k]!.kind !== ' ') to = k;
      else if (k - to > 2 * context) break;
    }
    const end = Math.min(ops.length, to + context + 1);
    const hunk = ops.slice(from, end);
    const lineA = ops.slice(0, from).filter((op) => op.kind !== '+').length + 1;
    const lineB = ops.slice(0, from).filter((op) => op.kind !== '-').length + 1;
    const countA = hunk.filter((op) => op.kind !== '+').length;
    const countB = hunk.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${lineA},${countA} +${lineB},${countB} @@`, ...hunk.map((op) => op.kind + op.line));
    index = end;
    from = end;
  }
  return out.length === 2 ? '' : `${out.join('\n')}\n`;
};

/** A glob (`*`, `**`, `?`, `[…]`, `{a,b}`) as a regular expression over `/`-separated relative paths. */
export const globToRegExp = (glob: string): RegExp => {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) out += '\\[';
      else {
        out += `[${glob
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else if (c === '{') {
      out += '(?:';
      braces += 1;
    } else if (c === '}' && braces > 0) {
      out += ')';
      braces -= 1;
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}${')'.repeat(braces)}$`);
};

/** Matches a relative path; a pattern without `/` also matches any file name at any depth (like matchBase). */
export const globMatcher = (pattern: string): ((relative: string) => boolean) => {
  const regex = globToRegExp(pattern);
  const base = !pattern.includes('/');
  return (relative) => regex.test(relative) || (base && regex.test(relative.slice(relative.lastIndexOf('/') + 1)));
};
