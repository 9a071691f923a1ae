// The audit trail of tool calls: one ToolCalled event per call (who, which tool, what, how long, outcome).
// Arguments are summarized: secrets redacted, file contents and long strings reduced to their length.
// The summary is storable whatever the arguments hold: U+0000 and unpaired surrogates (which PostgreSQL
// refuses) become U+FFFD, in values and keys, so no argument can keep a call out of the audit trail.
import { toolAuditStream, type ToolCalled } from '../../domain/tools/index.ts';
import type { GroupCommit } from '../../eventstore/group-commit.ts';
import { toStorable } from '../../eventstore/storable.ts';

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie/i;
/** Payload fields: their size matters for the audit, their text is the user's business. */
const PAYLOAD_KEY = /^(content|data|newText|oldText|contents|observations)$/;
const MAX_STRING = 160;
/** Keys kept per object, and their length: a summary stays small whatever a client sends. */
const MAX_KEYS = 20;
const MAX_KEY = 64;

const summarize = (value: unknown, key: string, depth: number): unknown => {
  if (SECRET_KEY.test(key)) return '[redacted]';
  if (typeof value === 'string') {
    if (PAYLOAD_KEY.test(key)) return `[${value.length} chars]`;
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… [${value.length} chars]` : value;
  }
  if (Array.isArray(value)) {
    if (PAYLOAD_KEY.test(key)) return `[${value.length} items]`;
    const items = value.slice(0, 10).map((item) => summarize(item, key, depth + 1));
    return value.length > 10 ? [...items, `… ${value.length - 10} more`] : items;
  }
  if (value && typeof value === 'object') {
    if (depth >= 3) return '[object]';
    const entries = Object.entries(value);
    // A shortened key keeps its position, so two long keys with one prefix stay two entries.
    const kept = entries
      .slice(0, MAX_KEYS)
      .map(([k, v], i) => [k.length > MAX_KEY ? `${k.slice(0, MAX_KEY)}… #${i}` : k, summarize(v, k, depth + 1)]);
    if (entries.length > MAX_KEYS) kept.push(['…', `${entries.length - MAX_KEYS} more keys`]);
    return Object.fromEntries(kept);
  }
  return value;
};

export const summarizeArguments = (args: unknown): Record<string, unknown> => {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return {};
  return toStorable(summarize(args, '', 0) as Record<string, unknown>);
};

/** Through the instance's group commit: one round trip shared with other calls (and with the call's response). */
export const recordToolCall = async (commits: Pick<GroupCommit, 'append'>, data: ToolCalled['data']): Promise<void> => {
  // Retention (MCP resumption) trims only session streams; `audit-*` streams are kept for good.
  // (toStorable again: the error message may quote the caller's input.)
  await commits.append(toolAuditStream(data.userId), [
    { type: 'ToolCalled', data: toStorable(data), metadata: { actor: { type: 'user', id: data.userId } } },
  ]);
};
