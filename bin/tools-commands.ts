// CLI commands of the tools area (`remotemcp tools …`, `remotemcp memory backfill-embeddings`), spread
// into bin/commands.ts.
import type { Command } from './command.ts';
import { CLI, DomainError } from '../domain/shared.ts';

export const toolsCommands = (
  out: (text: string) => void,
  table: (rows: Record<string, unknown>[]) => void,
): Record<string, Command> => {
  const toggle = (enabled: boolean): Command => {
    const summary = enabled ? 'tools enable <name>' : 'tools disable <name> [--reason R]';
    return {
      summary,
      ...(enabled ? {} : { options: { reason: { type: 'string' as const } } }),
      async run(services, values, positionals) {
        const name = positionals[0];
        if (!name) {
          out(`usage: remotemcp ${summary}`);
          return 1;
        }
        try {
          const reason = typeof values.reason === 'string' ? values.reason : undefined;
          const changed = await services.tools.setEnabled(name, enabled, CLI, reason ? { reason } : {});
          out(
            changed
              ? `${enabled ? 'enabled' : 'disabled'} ${name}`
              : `${name} was already ${enabled ? 'enabled' : 'disabled'}`,
          );
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          out(error.message);
          return 1;
        }
      },
    };
  };
  return {
    'tools list': {
      summary: 'every tool with its scope and whether it is enabled',
      async run(services) {
        table(
          (await services.tools.list()).map((t) => ({
            name: t.name,
            scope: t.scope,
            enabled: t.enabled,
            readOnly: t.annotations.readOnlyHint ?? false,
          })),
        );
      },
    },
    'tools enable': toggle(true),
    'tools disable': toggle(false),
    'memory backfill-embeddings': {
      summary: 'embed notes stored before OPENAI_API_KEY was set (idempotent)',
      async run(services) {
        if (!services.config.openai) {
          out('embeddings are off: set OPENAI_API_KEY (and OPENAI_BASE_URL / EMBEDDING_MODEL) first');
          return 1;
        }
        const { embedded } = await services.tools.memory.backfillEmbeddings({
          onProgress: (done) => out(`embedded ${done}`),
        });
        out(`done: ${embedded} notes embedded with ${services.config.openai.model}`);
      },
    },
  };
};
