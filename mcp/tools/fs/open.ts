// Check-then-use without openat(2). A path is checked (realpath inside a root), then opened with
// O_NOFOLLOW | O_NONBLOCK, and the descriptor must be the checked thing: its kernel path
// (/proc/self/fd/N) equals the checked real path, or, where there is no /proc, its device and inode
// equal a fresh stat of a path that still resolves to itself. Everything done inside an opened
// directory goes through /proc/self/fd/N/<name>, which the kernel resolves from the descriptor (the
// openat equivalent), so a directory swapped for a symbolic link after the check is never used.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../define.ts';
import { fsError, type Roots } from './paths.ts';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const PROC_FD = fs.existsSync('/proc/self/fd');

type Seam = ((real: string) => Promise<void> | void) | undefined;
/**
 * Test-only injection points: called between the check of a path and its open, and right after the
 * open (before the descriptor is verified), so race tests can swap a directory for a symbolic link, and
 * back, at exactly those moments. Never set outside tests.
 */
export const raceSeam: { beforeOpen: Seam; afterOpen: Seam } = { beforeOpen: undefined, afterOpen: undefined };

export type Want = 'file' | 'directory' | 'file-or-directory';

export type Opened = {
  readonly handle: fsp.FileHandle;
  readonly stat: fs.Stats;
  /** The checked real path the descriptor is known to be. */
  readonly real: string;
  /** A path for `name` inside this (directory) descriptor, resolved by the kernel from the descriptor. */
  at(name: string): string;
  /** Opens `name` inside this directory without following a link there, verified like the parent. */
  child(name: string, shown: string, want: Want): Promise<Opened>;
  close(): Promise<void>;
};

const notRegular = (shown: string): ToolError =>
  new ToolError('not_a_file', `${shown} is not a regular file or directory (FIFOs, sockets and devices are refused)`);

const notDirectory = (shown: string): ToolError => new ToolError('not_a_directory', `${shown} is not a directory`);

/** The descriptor is the checked path: otherwise the path changed between check and use. */
const verifyIdentity = async (roots: Roots, handle: fsp.FileHandle, stat: fs.Stats, real: string, shown: string) => {
  let actual: string | undefined;
  if (PROC_FD) actual = await fsp.readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (actual === undefined) {
    const [again, now] = await Promise.all([
      fsp.realpath(real).catch(() => undefined),
      fsp.stat(real).catch(() => undefined),
    ]);
    if (again === real && now && now.dev === stat.dev && now.ino === stat.ino) return;
    actual = again ?? '';
  }
  if (actual === real) return;
  if (!roots.rootOf(actual))
    throw new ToolError('symlink_escape', `${shown} was swapped for a link to outside the allowed directories`);
  throw new ToolError('path_changed', `${shown} changed while it was being used; try again`);
};

const open = async (roots: Roots, target: string, real: string, shown: string, want: Want): Promise<Opened> => {
  if (!roots.rootOf(real))
    throw new ToolError(
      'outside_roots',
      `${shown} is outside the allowed directories (see fs_list_allowed_directories)`,
    );
  // Refuse FIFOs, sockets and devices before opening them at all (opening has side effects for some);
  // the fstat below is what counts, this only spares the open.
  const before = await fsp.lstat(target).catch((error: unknown) => fsError(error, shown));
  if (!before.isFile() && !before.isDirectory() && !before.isSymbolicLink())
    throw want === 'directory' ? notDirectory(shown) : notRegular(shown);
  await raceSeam.beforeOpen?.(real);
  // O_NONBLOCK: opening a FIFO never waits for a writer (it would hold a libuv file thread forever).
  const flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (want === 'directory' ? O_DIRECTORY : 0);
  const handle = await fsp.open(target, flags).catch(async (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    // O_NOFOLLOW refuses a link at the last step: ELOOP, or ENOTDIR when O_DIRECTORY is also set.
    const link = code === 'ENOTDIR' && (await fsp.lstat(target).catch(() => undefined))?.isSymbolicLink();
    if (code === 'ELOOP' || link)
      throw new ToolError('symlink_refused', `${shown} became a symbolic link after it was checked`);
    if (code === 'ENXIO') throw notRegular(shown);
    return fsError(error, shown);
  });
  try {
    await raceSeam.afterOpen?.(real);
    const stat = await handle.stat();
    if (want === 'directory' && !stat.isDirectory()) throw notDirectory(shown);
    if (!stat.isFile() && !stat.isDirectory()) throw notRegular(shown);
    if (want === 'file' && stat.isDirectory()) throw new ToolError('is_a_directory', `${shown} is a directory`);
    await verifyIdentity(roots, handle, stat, real, shown);
    // A second name for the same inode may live outside the roots (a hard link planted in a root).
    if (want === 'file' && stat.nlink > 1)
      throw new ToolError(
        'hard_link_refused',
        `${shown} has ${stat.nlink} hard links; files with several links are refused`,
      );
    const self = PROC_FD ? `/proc/self/fd/${handle.fd}` : real;
    const opened: Opened = {
      handle,
      stat,
      real,
      at: (name) => path.join(self, name),
      child: (name, childShown, childWant) =>
        open(roots, opened.at(name), path.join(real, name), childShown, childWant),
      close: () => handle.close(),
    };
    return opened;
  } catch (error) {
    await handle.close();
    throw error;
  }
};

/** Opens a checked real path (from Roots) and verifies the descriptor is that path and of the wanted kind. */
export const openChecked = (roots: Roots, real: string, shown: string, want: Want): Promise<Opened> =>
  open(roots, real, real, shown, want);
