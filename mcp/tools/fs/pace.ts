// Long loops on the event loop give way every few milliseconds, so one request (a walk of a big tree, a
// diff of a large file, many glob matches) never holds up the others for longer than a slice.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export const SLICE_MS = 10;

/**
 * Returns a function to await inside a loop: it yields to the event loop once a slice has been used, and
 * throws once `signal` aborts (the client cancelled, or closed the request's response stream: MCP
 * basic/utilities/cancellation), so a long walk stops at its next step.
 */
export const pacer = (sliceMs = SLICE_MS, signal?: AbortSignal): (() => Promise<void>) => {
  let since = performance.now();
  return async () => {
    signal?.throwIfAborted();
    if (performance.now() - since < sliceMs) return;
    await yieldToLoop();
    since = performance.now();
  };
};

/** Gives way to the event loop now (between two steps that are each long but bounded). */
export const yieldNow = (): Promise<void> => yieldToLoop();
