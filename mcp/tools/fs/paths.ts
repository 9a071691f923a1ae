// Confinement of the filesystem tools to FS_ROOTS. A path is accepted only when its real location
// (symlinks resolved) lies inside a root's real location; open.ts checks the opened descriptor again,
// so a swap between check and use does not escape either.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../define.ts';

export const MAX_PATH = 4_096; // Linux PATH_MAX
export const MAX_SEGMENT = 255; // Linux NAME_MAX (bytes)

const inside = (root: string, candidate: string): boolean =>
  candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/** Maps OS errors to tool errors with clear messages (without echoing absolute host paths). */
export const fsError = (error: unknown, shown: string): never => {
  if (error instanceof ToolError) throw error;
  switch (errno(error)) {
    case 'ENOENT':
      throw new ToolError('not_found', `${shown} does not exist`);
    case 'EEXIST':
      throw new ToolError('already_exists', `${shown} already exists`);
    case 'ELOOP':
      throw new ToolError('symlink_refused', `${shown} is or contains a symbolic link loop`);
    case 'ENAMETOOLONG':
      throw new ToolError('path_too_long', `${shown} is too long`);
    case 'ENOTDIR':
      throw new ToolError('not_a_directory', `a part of ${shown} is not a directory`);
    case 'EISDIR':
      throw new ToolError('is_a_directory', `${shown} is a directory`);
    case 'ENOTEMPTY':
      throw new ToolError('not_empty', `${shown} is not empty`);
    case 'EACCES':
    case 'EPERM':
      throw new ToolError('permission_denied', `permission denied for ${shown}`);
    default:
      throw error;
  }
};

export class Roots {
  private constructor(
    /** As configured (absolute). */
    readonly configured: readonly string[],
    /** Real paths of the roots, the same order. */
    readonly real: readonly string[],
  ) {}

  /** Creates missing roots (the default `$DATA_DIR/files` on a fresh install) and resolves them. */
  static async open(roots: readonly string[]): Promise<Roots> {
    const real: string[] = [];
    for (const root of roots) {
      await fsp.mkdir(root, { recursive: true });
      real.push(await fsp.realpath(root));
    }
    return new Roots(roots, real);
  }

  /** The real root that holds a real path, or undefined. */
  rootOf(realPath: string): string | undefined {
    return this.real.find((root) => inside(root, realPath));
  }

  /** Lexical checks common to every path argument; returns the absolute (not yet real) path. */
  private absolute(input: string): string {
    if (input.includes('\0')) throw new ToolError('invalid_path', 'the path contains a NUL byte');
    if (input.trim() === '') throw new ToolError('invalid_path', 'the path is empty');
    if (
      Buffer.byteLength(input) > MAX_PATH ||
      input.split(/[\\/]/).some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT)
    ) {
      throw new ToolError(
        'path_too_long',
        `the path is longer than ${MAX_PATH} bytes or has a name longer than ${MAX_SEGMENT} bytes`,
      );
    }
    const first = this.configured[0];
    if (!first) throw new ToolError('no_roots', 'no directories are configured for the filesystem tools');
    const absolute = path.isAbsolute(input) ? path.resolve(input) : path.resolve(first, input);
    if (!this.configured.some((root) => inside(root, absolute)) && !this.real.some((root) => inside(root, absolute))) {
      throw new ToolError(
        'outside_roots',
        `${input} is outside the allowed directories (see fs_list_allowed_directories)`,
      );
    }
    return absolute;
  }

  private async realInside(absolute: string, shown: string): Promise<string> {
    let real: string;
    try {
      real = await fsp.realpath(absolute);
    } catch (error) {
      if (errno(error) === 'ENOENT' && (await fsp.lstat(absolute).catch(() => undefined))?.isSymbolicLink()) {
        throw new ToolError('symlink_refused', `${shown} is a symbolic link to something that does not exist`);
      }
      return fsError(error, shown);
    }
    if (!this.rootOf(real))
      throw new ToolError(
        'symlink_escape',
        `${shown} resolves (through a symbolic link) to a place outside the allowed directories`,
      );
    return real;
  }

  /** The real path of something that must exist. */
  async existing(input: string): Promise<string> {
    return this.realInside(this.absolute(input), input);
  }

  /**
   * The real path for something that may not exist yet (write, mkdir, move target): an existing target
   * resolves as usual; otherwise the nearest existing ancestor must resolve inside a root.
   */
  async creatable(input: string, options: { parentMustExist: boolean }): Promise<{ real: string; exists: boolean }> {
    const absolute = this.absolute(input);
    const stat = await fsp
      .lstat(absolute)
      .catch((error: unknown) => (errno(error) === 'ENOENT' ? undefined : fsError(error, input)));
    if (stat) return { real: await this.realInside(absolute, input), exists: true };
    let ancestor = path.dirname(absolute);
    const missing = [path.basename(absolute)];
    for (;;) {
      const found = await fsp
        .lstat(ancestor)
        .catch((error: unknown) => (errno(error) === 'ENOENT' ? undefined : fsError(error, input)));
      if (found) break;
      if (options.parentMustExist) throw new ToolError('not_found', `the parent directory of ${input} does not exist`);
      missing.unshift(path.basename(ancestor));
      ancestor = path.dirname(ancestor);
    }
    const realAncestor = await this.realInside(ancestor, input);
    return { real: path.join(realAncestor, ...missing), exists: false };
  }

  /**
   * The real directory holding a path plus its last name, without following that last name (move source):
   * a symlink is moved as a link, never as its target.
   */
  async entry(input: string): Promise<string> {
    const absolute = this.absolute(input);
    if (this.configured.includes(absolute) || this.real.includes(absolute))
      throw new ToolError('root_refused', 'an allowed directory itself cannot be moved');
    const parent = await this.realInside(path.dirname(absolute), input);
    return path.join(parent, path.basename(absolute));
  }
}
