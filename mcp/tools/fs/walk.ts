// Directory walking for list/tree/search: each directory is opened and verified (open.ts) and read
// through its descriptor; entries are lstat'ed (symbolic links are reported, never followed). Bounded by
// an entry budget and a scan budget so one call cannot scan a whole disk, and paced so it never holds
// the event loop for long.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { openChecked, type Opened } from './open.ts';
import { pacer } from './pace.ts';
import { fsError, type Roots } from './paths.ts';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';
export type Entry = { path: string; name: string; type: EntryType; size: number; depth: number };

/** Entries returned by one call. */
export const MAX_ENTRIES = 5_000;
/** Names read by one call, returned or not (a huge directory, or one pruned by excludes). */
export const MAX_SCANNED = 100_000;

const LSTAT_BATCH = 16;

const typeOf = (stat: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType =>
  stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'directory' : stat.isFile() ? 'file' : 'other';

type Budget = { scanned: number; readonly pace: () => Promise<void> };

/** The first MAX_ENTRIES entries (by name) of an opened directory; truncated when there were more. */
const readOpened = async (
  dir: Opened,
  shown: string,
  budget: Budget,
): Promise<{ entries: Entry[]; truncated: boolean }> => {
  const names: string[] = [];
  let truncated = false;
  const reader = await fsp.opendir(dir.at('.'), { bufferSize: 256 }).catch((error: unknown) => fsError(error, shown));
  try {
    for await (const entry of reader) {
      if (budget.scanned >= MAX_SCANNED) {
        truncated = true;
        break;
      }
      budget.scanned += 1;
      names.push(entry.name);
      await budget.pace();
    }
  } finally {
    await reader.close().catch(() => undefined);
  }
  names.sort();
  await budget.pace();
  if (names.length > MAX_ENTRIES) truncated = true;
  const entries: Entry[] = [];
  const kept = names.slice(0, MAX_ENTRIES);
  // A few lstat calls at a time: the thread pool works on them while the loop serves others.
  for (let from = 0; from < kept.length; from += LSTAT_BATCH) {
    const batch = kept.slice(from, from + LSTAT_BATCH);
    const stats = await Promise.all(batch.map((name) => fsp.lstat(dir.at(name)).catch(() => undefined)));
    stats.forEach((stat, k) => {
      const name = batch[k]!;
      if (stat) entries.push({ path: name, name, type: typeOf(stat), size: stat.isFile() ? stat.size : 0, depth: 0 });
    });
    await budget.pace();
  }
  return { entries, truncated };
};

export const listDirectory = async (
  roots: Roots,
  real: string,
  shown: string,
): Promise<{ entries: Entry[]; truncated: boolean }> => {
  const dir = await openChecked(roots, real, shown, 'directory');
  try {
    return await readOpened(dir, shown, { scanned: 0, pace: pacer() });
  } finally {
    await dir.close();
  }
};

/**
 * Breadth-first walk below `real`; `skip` prunes a relative path (and what is under it). Each
 * subdirectory is opened by its checked path and verified; one that changed meanwhile is left out.
 */
export const walk = async (
  roots: Roots,
  real: string,
  shown: string,
  options: {
    maxDepth: number;
    skip: (relative: string) => Promise<boolean>;
    signal?: AbortSignal | undefined;
    /** Told after each directory: the names read so far and the directories still queued. */
    onDirectory?: ((scanned: number, queued: number) => void) | undefined;
  },
): Promise<{ entries: Entry[]; truncated: boolean }> => {
  const budget: Budget = { scanned: 0, pace: pacer(undefined, options.signal) };
  const entries: Entry[] = [];
  let truncated = false;
  const queue: { dir: string; relative: string; depth: number }[] = [{ dir: real, relative: '', depth: 0 }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { dir, relative, depth } = next;
    const where = relative === '' ? shown : `${shown}/${relative}`;
    const opened = await openChecked(roots, dir, where, 'directory').catch((error: unknown) => {
      if (relative === '') throw error;
      return undefined;
    });
    if (!opened) continue;
    const children = await readOpened(opened, where, budget)
      .catch((error: unknown) => {
        if (relative === '') throw error;
        return { entries: [], truncated: false };
      })
      .finally(() => opened.close());
    if (children.truncated) truncated = true;
    for (const child of children.entries) {
      const childRelative = relative === '' ? child.name : `${relative}/${child.name}`;
      const skipped = await options.skip(childRelative);
      await budget.pace();
      if (skipped) continue;
      if (entries.length >= MAX_ENTRIES) return { entries, truncated: true };
      entries.push({ ...child, path: childRelative, depth });
      if (child.type === 'directory' && depth + 1 < options.maxDepth)
        queue.push({ dir: path.join(dir, child.name), relative: childRelative, depth: depth + 1 });
    }
    options.onDirectory?.(budget.scanned, queue.length);
    if (budget.scanned >= MAX_SCANNED) return { entries, truncated: true };
  }
  return { entries, truncated };
};
