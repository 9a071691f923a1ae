// Directory walking for list/tree/search: lstat only (symbolic links are reported, never followed),
// bounded by an entry budget so one call cannot scan a whole disk.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fsError } from './paths.ts';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';
export type Entry = { path: string; name: string; type: EntryType; size: number; depth: number };

export const MAX_ENTRIES = 5_000;

const typeOf = (stat: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType =>
  stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'directory' : stat.isFile() ? 'file' : 'other';

export const listDirectory = async (real: string, shown: string): Promise<Entry[]> => {
  const names = await fsp.readdir(real).catch((error: unknown) => fsError(error, shown));
  const entries: Entry[] = [];
  for (const name of names.sort().slice(0, MAX_ENTRIES)) {
    const stat = await fsp.lstat(path.join(real, name)).catch(() => undefined);
    if (stat) entries.push({ path: name, name, type: typeOf(stat), size: stat.isFile() ? stat.size : 0, depth: 0 });
  }
  return entries;
};

/** Breadth-first walk below `real`; `skip` prunes a relative path (and what is under it). */
export const walk = async (
  real: string,
  shown: string,
  options: { maxDepth: number; skip: (relative: string) => boolean },
): Promise<{ entries: Entry[]; truncated: boolean }> => {
  const entries: Entry[] = [];
  const queue: { dir: string; relative: string; depth: number }[] = [{ dir: real, relative: '', depth: 0 }];
  while (queue.length > 0) {
    const { dir, relative, depth } = queue.shift()!;
    const children = await listDirectory(dir, relative === '' ? shown : `${shown}/${relative}`).catch(
      (error: unknown) => {
        if (relative === '') throw error;
        return [];
      },
    );
    for (const child of children) {
      const childRelative = relative === '' ? child.name : `${relative}/${child.name}`;
      if (options.skip(childRelative)) continue;
      if (entries.length >= MAX_ENTRIES) return { entries, truncated: true };
      entries.push({ ...child, path: childRelative, depth });
      if (child.type === 'directory' && depth + 1 < options.maxDepth)
        queue.push({ dir: path.join(dir, child.name), relative: childRelative, depth: depth + 1 });
    }
  }
  return { entries, truncated: false };
};
