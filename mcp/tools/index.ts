// The tool registry and built-in tools (issue 6). Placeholder until it lands: no tools.
import type { CoreServices } from '../../app/services.ts';

export type Tools = { close(): Promise<void> };

export const createTools = async (_core: CoreServices): Promise<Tools> => ({ close: async () => undefined });
