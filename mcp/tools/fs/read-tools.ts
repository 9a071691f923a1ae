// Read-only filesystem tools (parity with the reference filesystem MCP server's read side).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { MCP_READ } from '../../../domain/scopes.ts';
import { defineTool, ToolError, type Tool, type ToolContext } from '../define.ts';
import { globMatcher, globWork, type GlobMatcher } from './glob.ts';
import { MAX_MEDIA_BYTES, MAX_READ_BYTES, readBytes, readText } from './io.ts';
import { openChecked } from './open.ts';
import { pacer } from './pace.ts';
import type { Roots } from './paths.ts';
import { listDirectory, MAX_ENTRIES, walk } from './walk.ts';

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
/** A walk's progress: the names read so far (the total is unknown until the walk ends). */
const walkProgress = (progress: ToolContext['progress']) =>
  progress &&
  ((scanned: number, queued: number) =>
    progress({ progress: scanned, message: `${scanned} names read, ${queued} directories to go` }));

export const PathArg = z
  .string()
  .min(1)
  .describe('A path inside an allowed directory: absolute, or relative to the first allowed directory');
const EntryType = z.enum(['file', 'directory', 'symlink', 'other']);

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.svg': 'image/svg+xml',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
  '.pdf': 'application/pdf',
};
const text = (value: string): ContentBlock[] => [{ type: 'text', text: value }];
const anyOf =
  (matchers: readonly GlobMatcher[]) =>
  async (relative: string): Promise<boolean> => {
    for (const matches of matchers) if (await matches(relative)) return true;
    return false;
  };

export const fsReadTools = (roots: Roots): Tool[] => [
  defineTool({
    name: 'fs_read_text_file',
    title: 'Read a text file',
    description: 'Reads a UTF-8 text file. Use head or tail to read only the first or last N lines of a large file.',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({
      path: PathArg,
      head: z.number().int().min(0).optional().describe('Only the first N lines'),
      tail: z.number().int().min(0).optional().describe('Only the last N lines'),
    }),
    output: z.object({ path: z.string(), content: z.string() }),
    run: async ({ path: input, head, tail }) => {
      const { real, text: content } = await readText(roots, input, { head, tail });
      return { path: real, content };
    },
    render: (result) => text(result.content),
  }),
  defineTool({
    name: 'fs_read_media_file',
    title: 'Read an image or audio file',
    description: `Reads an image or audio file (up to ${MAX_MEDIA_BYTES} bytes) and returns it base64-encoded with its MIME type.`,
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({ path: PathArg }),
    output: z.object({
      path: z.string(),
      mimeType: z.string(),
      size: z.number().int(),
      data: z.string().describe('base64'),
    }),
    run: async ({ path: input }) => {
      const { real, bytes } = await readBytes(roots, input, MAX_MEDIA_BYTES);
      const mimeType = MIME[path.extname(real).toLowerCase()] ?? 'application/octet-stream';
      return { path: real, mimeType, size: bytes.length, data: bytes.toString('base64') };
    },
    render: ({ path: real, mimeType, data }) => [
      mimeType.startsWith('image/')
        ? { type: 'image', data, mimeType }
        : mimeType.startsWith('audio/')
          ? { type: 'audio', data, mimeType }
          : { type: 'resource', resource: { uri: pathToFileURL(real).href, mimeType, blob: data } },
    ],
  }),
  defineTool({
    name: 'fs_read_multiple_files',
    title: 'Read several text files',
    description: `Reads several text files at once (${MAX_READ_BYTES} bytes in total); a file that cannot be read gets an error entry instead of failing the call.`,
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({ paths: z.array(PathArg).min(1).max(50).describe('Up to 50 paths') }),
    output: z.object({
      files: z.array(z.object({ path: z.string(), content: z.string().optional(), error: z.string().optional() })),
    }),
    run: async ({ paths }) => {
      // One budget for the whole call: 50 files of the single-file limit would be too much for one reply.
      let budget = MAX_READ_BYTES;
      const files: { path: string; content?: string; error?: string }[] = [];
      for (const input of paths) {
        try {
          if (budget <= 0)
            throw new ToolError('file_too_large', `the ${MAX_READ_BYTES} bytes of this call are used up`);
          const { real, bytes } = await readBytes(roots, input, budget);
          budget -= bytes.length;
          files.push({ path: real, content: bytes.toString('utf8') });
        } catch (error) {
          if (!(error instanceof ToolError)) throw error;
          files.push({ path: input, error: `${error.code}: ${error.message}` });
        }
      }
      return { files };
    },
    render: ({ files }) => text(files.map((f) => `${f.path}:\n${f.content ?? `Error - ${f.error}`}`).join('\n---\n')),
  }),
  defineTool({
    name: 'fs_list_directory',
    title: 'List a directory',
    description: `Lists the entries of a directory (up to ${MAX_ENTRIES}) with their type and, for files, their size in bytes.`,
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({
      path: PathArg,
      sortBy: z.enum(['name', 'size']).default('name').describe('Sort by name or by size (largest first)'),
    }),
    output: z.object({
      path: z.string(),
      entries: z.array(z.object({ name: z.string(), type: EntryType, size: z.number().int() })),
      totalFiles: z.number().int(),
      totalDirectories: z.number().int(),
      totalSize: z.number().int(),
      truncated: z
        .boolean()
        .describe(`true when the directory has more than ${MAX_ENTRIES} entries (only the first are listed)`),
    }),
    run: async ({ path: input, sortBy }) => {
      const real = await roots.existing(input);
      const listed = await listDirectory(roots, real, input);
      const entries = listed.entries.map(({ name, type, size }) => ({ name, type, size }));
      // Ties keep the walk's code-unit name order (sort is stable): localeCompare on thousands of names is slow.
      if (sortBy === 'size') entries.sort((a, b) => b.size - a.size);
      return {
        path: real,
        entries,
        totalFiles: entries.filter((e) => e.type === 'file').length,
        totalDirectories: entries.filter((e) => e.type === 'directory').length,
        totalSize: entries.reduce((sum, e) => sum + e.size, 0),
        truncated: listed.truncated,
      };
    },
    render: (r) =>
      text(
        [
          ...r.entries.map(
            (e) =>
              `[${e.type === 'directory' ? 'DIR' : e.type === 'symlink' ? 'LINK' : 'FILE'}] ${e.name}${e.type === 'file' ? ` (${e.size} bytes)` : ''}`,
          ),
          '',
          `${r.totalFiles} files, ${r.totalDirectories} directories, ${r.totalSize} bytes`,
        ].join('\n'),
      ),
  }),
  defineTool({
    name: 'fs_directory_tree',
    title: 'Directory tree',
    description:
      'Lists everything below a directory (symbolic links are shown, not followed), skipping glob exclude patterns.',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({
      path: PathArg,
      excludePatterns: z
        .array(z.string())
        .max(50)
        .default([])
        .describe('Globs of relative paths to skip, e.g. node_modules or **/*.log'),
      maxDepth: z.number().int().min(1).max(50).default(10),
    }),
    output: z.object({
      path: z.string(),
      entries: z.array(z.object({ path: z.string(), type: EntryType, size: z.number().int() })),
      truncated: z.boolean(),
    }),
    run: async ({ path: input, excludePatterns, maxDepth }, { signal, progress }) => {
      const real = await roots.existing(input);
      const work = globWork(pacer(undefined, signal));
      const skips = excludePatterns.map((pattern) => globMatcher(pattern, work));
      const { entries, truncated } = await walk(roots, real, input, {
        maxDepth,
        skip: anyOf(skips),
        signal,
        onDirectory: walkProgress(progress),
      });
      return {
        path: real,
        entries: entries
          // Code-unit order: localeCompare on thousands of paths holds the event loop for long.
          .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
          .map(({ path: p, type, size }) => ({ path: p, type, size })),
        truncated,
      };
    },
    render: (r) =>
      text(
        [
          r.path,
          ...r.entries.map(
            (e) =>
              `${'  '.repeat(e.path.split('/').length)}${path.basename(e.path)}${e.type === 'directory' ? '/' : e.type === 'symlink' ? ' ->' : ''}`,
          ),
          ...(r.truncated ? ['… (truncated)'] : []),
        ].join('\n'),
      ),
  }),
  defineTool({
    name: 'fs_search_files',
    title: 'Search files by glob',
    description:
      'Finds files and directories below a path whose relative path matches a glob (a pattern without / matches names at any depth).',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({
      path: PathArg,
      pattern: z.string().min(1).max(500).describe('Glob such as *.ts, **/test/*.json or report-{2024,2025}.*'),
      excludePatterns: z.array(z.string()).max(50).default([]),
    }),
    output: z.object({ path: z.string(), matches: z.array(z.string()), truncated: z.boolean() }),
    run: async ({ path: input, pattern, excludePatterns }, { signal, progress }) => {
      const real = await roots.existing(input);
      const work = globWork(pacer(undefined, signal));
      const match = globMatcher(pattern, work);
      const skips = excludePatterns.map((exclude) => globMatcher(exclude, work));
      const { entries, truncated } = await walk(roots, real, input, {
        maxDepth: 50,
        skip: anyOf(skips),
        signal,
        onDirectory: walkProgress(progress),
      });
      const matches: string[] = [];
      for (const entry of entries) {
        if (await match(entry.path)) matches.push(path.join(real, entry.path));
        await work.pace();
      }
      return { path: real, matches: matches.sort(), truncated };
    },
    render: (r) => text(r.matches.length ? r.matches.join('\n') : 'No matches found'),
  }),
  defineTool({
    name: 'fs_get_file_info',
    title: 'File information',
    description: 'Size, times, type and permissions of a file or directory (FIFOs, sockets and devices are refused).',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({ path: PathArg }),
    output: z.object({
      path: z.string(),
      type: EntryType,
      size: z.number().int(),
      created: z.string(),
      modified: z.string(),
      accessed: z.string(),
      permissions: z.string().describe('octal, e.g. 644'),
      isSymlink: z.boolean().describe('The given path is a symbolic link (the info is about its target)'),
    }),
    run: async ({ path: input }) => {
      const real = await roots.existing(input);
      const opened = await openChecked(roots, real, input, 'file-or-directory');
      const stat = opened.stat;
      await opened.close();
      const link = await fsp.lstat(path.resolve(roots.configured[0] ?? '/', input)).catch(() => undefined);
      return {
        path: real,
        type: stat.isDirectory() ? ('directory' as const) : ('file' as const),
        size: stat.size,
        created: stat.birthtime.toISOString(),
        modified: stat.mtime.toISOString(),
        accessed: stat.atime.toISOString(),
        permissions: (stat.mode & 0o777).toString(8),
        isSymlink: link?.isSymbolicLink() ?? false,
      };
    },
    render: (r) =>
      text(
        Object.entries(r)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('\n'),
      ),
  }),
  defineTool({
    name: 'fs_list_allowed_directories',
    title: 'Allowed directories',
    description: 'The directories the filesystem tools may read and write (FS_ROOTS).',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({}),
    output: z.object({ directories: z.array(z.string()) }),
    run: async () => ({ directories: [...roots.real] }),
    render: (r) => text(`Allowed directories:\n${r.directories.join('\n')}`),
  }),
];
