// Progress of a long tool call (MCP basic/utilities/progress): sent only against the progressToken the
// request carried, at most a few times a second, and only when the value grew ("the progress value MUST
// increase with each notification"). Each notification of a 2025 session is a stored message, so the
// rate bounds what a long walk writes to the log as well as what it sends.
import type { ToolProgress } from './define.ts';

export const PROGRESS_EVERY_MS = 250;

type ProgressNotification = {
  method: 'notifications/progress';
  params: { progressToken: string | number } & ToolProgress;
};

/** The first report goes at once, later ones at most every `everyMs`; a failed send is dropped. */
export const throttled = (
  send: (report: ToolProgress) => Promise<unknown>,
  everyMs = PROGRESS_EVERY_MS,
): ((report: ToolProgress) => void) => {
  let sentAt = -Infinity;
  let sent = -Infinity;
  return (report) => {
    const now = performance.now();
    if (report.progress <= sent || now - sentAt < everyMs) return;
    sentAt = now;
    sent = report.progress;
    send(report).catch(() => undefined);
  };
};

/** Progress notifications for a request that carried `token` (none without one). */
export const progressNotifier = (
  token: unknown,
  notify: (notification: ProgressNotification) => Promise<unknown>,
): ((report: ToolProgress) => void) | undefined =>
  typeof token === 'string' || typeof token === 'number'
    ? throttled((report) => notify({ method: 'notifications/progress', params: { progressToken: token, ...report } }))
    : undefined;
