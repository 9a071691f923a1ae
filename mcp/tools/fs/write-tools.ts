// Filesystem tools that change files: they need the write scope and stay inside FS_ROOTS.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MCP_WRITE } from '../../../domain/scopes.ts';
import { defineTool, ToolError, type Tool } from '../define.ts';
import { MAX_READ_BYTES, MAX_WRITE_BYTES, readBytes, writeText } from './io.ts';
import { fsError, type Roots } from './paths.ts';
import { PathArg } from './read-tools.ts';
import { applyEdits, unifiedDiff } from './text.ts';

const WRITE = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };

export const fsWriteTools = (roots: Roots): Tool[] => [
  defineTool({
    name: 'fs_write_file',
    title: 'Write a file',
    description: `Creates a text file or replaces its whole content (atomically; up to ${MAX_WRITE_BYTES} bytes). The directory must exist.`,
    scope: MCP_WRITE,
    annotations: WRITE,
    input: z.object({ path: PathArg, content: z.string().describe('The complete new content (UTF-8)') }),
    output: z.object({ path: z.string(), bytes: z.number().int(), created: z.boolean() }),
    run: async ({ path: input, content }) => {
      const { real, bytes, created } = await writeText(roots, input, content);
      return { path: real, bytes, created };
    },
    render: (r) => [{ type: 'text', text: `${r.created ? 'Created' : 'Wrote'} ${r.path} (${r.bytes} bytes)` }],
  }),
  defineTool({
    name: 'fs_edit_file',
    title: 'Edit a file',
    description:
      'Replaces exact text in a file. Each oldText must occur exactly once; edits apply in order. Returns a unified diff; with dryRun the file is not changed.',
    scope: MCP_WRITE,
    annotations: { ...WRITE, idempotentHint: false },
    input: z.object({
      path: PathArg,
      edits: z
        .array(
          z.object({
            oldText: z.string().describe('Text to find (exactly, once)'),
            newText: z.string().describe('Replacement'),
          }),
        )
        .min(1)
        .max(100),
      dryRun: z.boolean().default(false).describe('Only show the diff'),
    }),
    output: z.object({ path: z.string(), diff: z.string(), applied: z.boolean() }),
    run: async ({ path: input, edits, dryRun }) => {
      const { real, bytes } = await readBytes(roots, input, MAX_READ_BYTES);
      const before = bytes.toString('utf8');
      const after = applyEdits(before, edits);
      const diff = unifiedDiff(path.basename(real), before, after);
      if (!dryRun) await writeText(roots, real, after);
      return { path: real, diff, applied: !dryRun };
    },
    render: (r) => [
      { type: 'text', text: `${r.applied ? 'Applied' : 'Dry run, not applied'}:\n\`\`\`diff\n${r.diff}\`\`\`` },
    ],
  }),
  defineTool({
    name: 'fs_create_directory',
    title: 'Create a directory',
    description: 'Creates a directory and any missing parents; succeeds quietly when it already exists.',
    scope: MCP_WRITE,
    annotations: { ...WRITE, destructiveHint: false },
    input: z.object({ path: PathArg }),
    output: z.object({ path: z.string(), created: z.boolean() }),
    run: async ({ path: input }) => {
      const { real, exists } = await roots.creatable(input, { parentMustExist: false });
      if (exists) {
        if (!(await fsp.stat(real)).isDirectory())
          throw new ToolError('already_exists', `${input} exists and is not a directory`);
        return { path: real, created: false };
      }
      await fsp.mkdir(real, { recursive: true }).catch((error: unknown) => fsError(error, input));
      // Check after the fact too: a parent swapped for a symlink in between would show up here.
      await roots.existing(real).catch(async (error: unknown) => {
        await fsp.rmdir(real).catch(() => undefined);
        throw error;
      });
      return { path: real, created: true };
    },
    render: (r) => [{ type: 'text', text: `${r.created ? 'Created' : 'Already exists:'} ${r.path}` }],
  }),
  defineTool({
    name: 'fs_move_file',
    title: 'Move or rename',
    description:
      'Moves or renames a file or directory inside the allowed directories. Fails when the destination exists.',
    scope: MCP_WRITE,
    annotations: { ...WRITE, idempotentHint: false },
    input: z.object({ source: PathArg, destination: PathArg }),
    output: z.object({ source: z.string(), destination: z.string() }),
    run: async ({ source, destination }) => {
      const from = await roots.entry(source);
      await fsp.lstat(from).catch((error: unknown) => fsError(error, source));
      const { real: to, exists } = await roots.creatable(destination, { parentMustExist: true });
      if (exists) throw new ToolError('already_exists', `${destination} already exists`);
      if (to === from || to.startsWith(from + path.sep))
        throw new ToolError('invalid_move', 'a directory cannot be moved into itself');
      await fsp.rename(from, to).catch((error: unknown) => fsError(error, source));
      return { source: from, destination: to };
    },
    render: (r) => [{ type: 'text', text: `Moved ${r.source} to ${r.destination}` }],
  }),
];
