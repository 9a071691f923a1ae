import type { RecordedEvent, StreamMetadata } from './port.ts';

/** The events of one stream (in order) that its metadata still keeps: $tb, $maxCount, $maxAge. */
export const applyRetention = (
  events: readonly RecordedEvent[],
  metadata: StreamMetadata,
  now: Date,
): RecordedEvent[] => {
  let kept = [...events];
  if (metadata.truncateBefore !== undefined) kept = kept.filter((event) => event.revision >= metadata.truncateBefore!);
  if (metadata.maxCount !== undefined && kept.length > metadata.maxCount)
    kept = kept.slice(kept.length - metadata.maxCount);
  if (metadata.maxAgeSeconds !== undefined) {
    const oldest = now.getTime() - metadata.maxAgeSeconds * 1_000;
    kept = kept.filter((event) => event.createdAt.getTime() >= oldest);
  }
  return kept;
};
