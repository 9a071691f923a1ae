// File reading and writing for the filesystem tools, always through Roots: size limits, atomic writes
// (temp file + rename in the same directory, so a symlink at the target is replaced, never followed).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../define.ts';
import { openChecked } from './open.ts';
import { fsError, type Roots } from './paths.ts';

export const MAX_READ_BYTES = 10 * 1024 * 1024;
export const MAX_WRITE_BYTES = 10 * 1024 * 1024;
export const MAX_MEDIA_BYTES = 5 * 1024 * 1024;

export const readBytes = async (
  roots: Roots,
  input: string,
  limit: number,
): Promise<{ real: string; bytes: Buffer }> => {
  const real = await roots.existing(input);
  const { handle, stat } = await openChecked(roots, real, input, 'file');
  try {
    if (stat.size > limit)
      throw new ToolError('file_too_large', `${input} has ${stat.size} bytes; the limit is ${limit}`);
    return { real, bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
};

/** The text, or only its first / last lines; head and tail read only what they need from large files. */
export const readText = async (
  roots: Roots,
  input: string,
  options: { head?: number | undefined; tail?: number | undefined },
): Promise<{ real: string; text: string }> => {
  if (options.head !== undefined && options.tail !== undefined)
    throw new ToolError('invalid_arguments', 'give head or tail, not both');
  if (options.head === undefined && options.tail === undefined) {
    const { real, bytes } = await readBytes(roots, input, MAX_READ_BYTES);
    return { real, text: bytes.toString('utf8') };
  }
  const real = await roots.existing(input);
  const { handle, stat } = await openChecked(roots, real, input, 'file');
  try {
    // Newlines are counted per chunk and the text decoded once: re-splitting the text read so far on
    // every chunk made large heads and tails quadratic.
    const chunk = 64 * 1024;
    const chunks: Buffer[] = [];
    let newlines = 0;
    if (options.head !== undefined) {
      let offset = 0;
      while (offset < stat.size && newlines < options.head && offset < MAX_READ_BYTES) {
        const { bytesRead, buffer } = await handle.read(Buffer.alloc(chunk), 0, chunk, offset);
        if (bytesRead === 0) break;
        chunks.push(buffer.subarray(0, bytesRead));
        newlines += countNewlines(chunks.at(-1)!);
        offset += bytesRead;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      return { real, text: text.split('\n').slice(0, options.head).join('\n') };
    }
    const tail = options.tail ?? 0;
    let end = stat.size;
    while (end > 0 && newlines <= tail && stat.size - end < MAX_READ_BYTES) {
      const start = Math.max(0, end - chunk);
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(end - start), 0, end - start, start);
      chunks.unshift(buffer.subarray(0, bytesRead));
      newlines += countNewlines(chunks[0]!);
      end = start;
    }
    const lines = Buffer.concat(chunks).toString('utf8').replace(/\n$/, '').split('\n');
    return { real, text: tail === 0 ? '' : lines.slice(-tail).join('\n') };
  } finally {
    await handle.close();
  }
};

const countNewlines = (bytes: Buffer): number => {
  let count = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) count += 1;
  return count;
};

/**
 * Writes a whole file atomically; refuses to replace directories, hard-linked files, FIFOs and the like.
 * The temp file is created inside the opened, verified directory (O_EXCL | O_NOFOLLOW) and renamed
 * there; on failure only that very file (same device and inode) is unlinked, through the descriptor.
 */
export const writeText = async (
  roots: Roots,
  input: string,
  content: string,
): Promise<{ real: string; created: boolean; bytes: number }> => {
  const bytes = Buffer.byteLength(content);
  if (bytes > MAX_WRITE_BYTES)
    throw new ToolError('content_too_large', `the content has ${bytes} bytes; the limit is ${MAX_WRITE_BYTES}`);
  const { real } = await roots.creatable(input, { parentMustExist: true });
  if (roots.real.includes(real)) throw new ToolError('is_a_directory', `${input} is a directory`);
  const name = path.basename(real);
  const dir = await openChecked(roots, path.dirname(real), input, 'directory');
  try {
    const target = await fsp
      .lstat(dir.at(name))
      .catch((error: unknown) =>
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : fsError(error, input),
      );
    if (target?.isDirectory()) throw new ToolError('is_a_directory', `${input} is a directory`);
    if (target && !target.isFile())
      throw new ToolError('not_a_file', `${input} is not a regular file (FIFOs, sockets and devices are refused)`);
    if (target && target.nlink > 1)
      throw new ToolError(
        'hard_link_refused',
        `${input} has ${target.nlink} hard links; files with several links are refused`,
      );
    const temp = `.${name.slice(0, 200)}.${randomBytes(6).toString('hex')}.tmp`;
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    const handle = await fsp.open(dir.at(temp), flags, 0o644).catch((error: unknown) => fsError(error, input));
    const created = await handle.stat();
    try {
      await handle.writeFile(content, 'utf8');
      await handle.close();
      await fsp.rename(dir.at(temp), dir.at(name));
    } catch (error) {
      await handle.close().catch(() => undefined);
      const left = await fsp.lstat(dir.at(temp)).catch(() => undefined);
      if (left && left.dev === created.dev && left.ino === created.ino)
        await fsp.unlink(dir.at(temp)).catch(() => undefined);
      return fsError(error, input);
    }
    return { real, created: !target, bytes };
  } finally {
    await dir.close();
  }
};
