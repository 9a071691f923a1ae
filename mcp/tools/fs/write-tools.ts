// Filesystem tools that change files: they need the write scope and stay inside FS_ROOTS.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MCP_WRITE } from '../../../domain/scopes.ts';
import { defineTool, ToolError, type Tool } from '../define.ts';
import { MAX_READ_BYTES, MAX_WRITE_BYTES, readBytes, writeText } from './io.ts';
import { openChecked } from './open.ts';
import { yieldNow } from './pace.ts';
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
      await yieldNow();
      const after = await applyEdits(before, edits);
      const diff = await unifiedDiff(path.basename(real), before, after);
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
      // Each missing level is made inside the opened parent and opened in turn (never by a full path),
      // so a parent swapped for a symbolic link meanwhile cannot send the new directories elsewhere.
      const missing: string[] = [];
      let ancestor = real;
      while (
        !(await fsp.lstat(ancestor).then(
          () => true,
          () => false,
        ))
      ) {
        missing.unshift(path.basename(ancestor));
        ancestor = path.dirname(ancestor);
      }
      let dir = await openChecked(roots, ancestor, input, 'directory');
      try {
        for (const name of missing) {
          await fsp.mkdir(dir.at(name)).catch((error: unknown) => {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') fsError(error, input);
          });
          const child = await dir.child(name, input, 'directory');
          await dir.close();
          dir = child;
        }
      } finally {
        await dir.close();
      }
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
      // Renamed through both opened, verified parents: a parent swapped after the checks is not used.
      const sourceDir = await openChecked(roots, path.dirname(from), source, 'directory');
      try {
        const targetDir = await openChecked(roots, path.dirname(to), destination, 'directory');
        try {
          const target = targetDir.at(path.basename(to));
          if (
            await fsp.lstat(target).then(
              () => true,
              () => false,
            )
          )
            throw new ToolError('already_exists', `${destination} already exists`);
          await fsp.rename(sourceDir.at(path.basename(from)), target).catch((error: unknown) => fsError(error, source));
        } finally {
          await targetDir.close();
        }
      } finally {
        await sourceDir.close();
      }
      return { source: from, destination: to };
    },
    render: (r) => [{ type: 'text', text: `Moved ${r.source} to ${r.destination}` }],
  }),
];
