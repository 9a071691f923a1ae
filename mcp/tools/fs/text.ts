// Pure helpers of the filesystem tools: exact-match edits and a unified diff for dry runs.
import { ToolError } from '../define.ts';
import { pacer, yieldNow } from './pace.ts';

export type Edit = { oldText: string; newText: string };

const normalizeEol = (text: string): string => text.replace(/\r\n/g, '\n');

/** Applies edits in order; each oldText must occur exactly once (ambiguity is an error, not a guess). */
export const applyEdits = async (original: string, edits: readonly Edit[]): Promise<string> => {
  const pace = pacer();
  let text = normalizeEol(original);
  await yieldNow();
  for (const [index, edit] of edits.entries()) {
    await pace();
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

/** Lines of a text (CRLF read as LF, no empty last line after a final newline), split with pauses. */
const splitLines = async (text: string, pace: () => Promise<void>): Promise<string[]> => {
  const lines: string[] = [];
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
    lines.push(text.slice(start, text[end - 1] === '\r' && end > start ? end - 1 : end));
    start = end + 1;
    if (lines.length % 4096 === 0) await pace();
  }
  if (start < text.length || lines.length === 0) lines.push(text.slice(start));
  return lines;
};

type Op = { kind: ' ' | '-' | '+'; line: string };

const pushAll = (target: Op[], lines: readonly string[], kind: Op['kind']) => {
  for (const line of lines) target.push({ kind, line });
};

/**
 * Line operations turning a into b: common prefix/suffix, an LCS over the changed middle when it is small
 * (at most 4M cells, paced row by row), else the middle removed and added whole.
 */
const lineOps = async (a: string[], b: string[], pace: () => Promise<void>): Promise<Op[]> => {
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
  const ops: Op[] = [];
  pushAll(ops, a.slice(0, start), ' ');
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
      await pace();
    }
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i]! });
        i += 1;
        j += 1;
      } else if (i < midA.length && (j === midB.length || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        ops.push({ kind: '-', line: midA[i]! });
        i += 1;
      } else {
        ops.push({ kind: '+', line: midB[j]! });
        j += 1;
      }
    }
  } else {
    pushAll(ops, midA, '-');
    pushAll(ops, midB, '+');
  }
  pushAll(ops, a.slice(endA), ' ');
  return ops;
};

/** A unified diff (as `diff -u` / git show it) with 3 lines of context; linear in the ops, paced. */
export const unifiedDiff = async (name: string, before: string, after: string, context = 3): Promise<string> => {
  const pace = pacer();
  const a = await splitLines(before, pace);
  const b = await splitLines(after, pace);
  const ops = await lineOps(a, b, pace);
  const out = [`--- a/${name}`, `+++ b/${name}`];
  // Line numbers in a and b at ops[counted], advanced as hunks move forward (never recounted).
  let counted = 0;
  let lineA = 1;
  let lineB = 1;
  let index = 0;
  for (;;) {
    let change = index;
    while (change < ops.length && ops[change]!.kind === ' ') change += 1;
    if (change >= ops.length) break;
    const from = Math.max(index, change - context);
    let to = change;
    // Extend the hunk while the next change is within 2×context lines.
    for (let k = change; k < ops.length; k += 1) {
      if (ops[k]!.kind !== ' ') to = k;
      else if (k - to > 2 * context) break;
    }
    const end = Math.min(ops.length, to + context + 1);
    for (; counted < from; counted += 1) {
      if (ops[counted]!.kind !== '+') lineA += 1;
      if (ops[counted]!.kind !== '-') lineB += 1;
    }
    let countA = 0;
    let countB = 0;
    for (let k = from; k < end; k += 1) {
      if (ops[k]!.kind !== '+') countA += 1;
      if (ops[k]!.kind !== '-') countB += 1;
    }
    out.push(`@@ -${lineA},${countA} +${lineB},${countB} @@`);
    for (let k = from; k < end; k += 1) out.push(ops[k]!.kind + ops[k]!.line);
    index = end;
    await pace();
  }
  return out.length === 2 ? '' : `${out.join('\n')}\n`;
};
