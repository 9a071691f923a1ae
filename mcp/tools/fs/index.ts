// The filesystem tools, confined to FS_ROOTS.
import type { Tool } from '../define.ts';
import { Roots } from './paths.ts';
import { fsReadTools } from './read-tools.ts';
import { fsWriteTools } from './write-tools.ts';

export const createFsTools = async (fsRoots: readonly string[]): Promise<{ roots: Roots; tools: Tool[] }> => {
  const roots = await Roots.open(fsRoots);
  return { roots, tools: [...fsReadTools(roots), ...fsWriteTools(roots)] };
};
