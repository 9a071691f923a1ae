// The product's MCP layer rebuilt with the bench tools beside the registry's: on sessions bench_* ride
// along with the real tools, on the 2026-07-28 path bench_echo goes to the SDK's own handler (v2 serves
// one tools/call handler per server). Shared by run.ts, cpu.ts and queries.ts.
import type { OAuth } from '../../app/oauth/index.ts';
import { createMcp } from '../../mcp/index.ts';
import { MCP_READ } from '../../domain/scopes.ts';
import type { TestServer } from '../../test/support/server.ts';
import { registerBenchToolsBeside, registerModernToolsBeside } from './tools.ts';

export const withBenchTools = async (server: TestServer, verifier?: OAuth['verifier']): Promise<void> => {
  const { services } = server;
  const previous = services.mcp;
  services.mcp = await createMcp(
    services,
    verifier ? { verifier } : services.oauth,
    {
      ...services.tools,
      register: (mcp, caller) => {
        services.tools.register(mcp, caller);
        registerBenchToolsBeside(mcp);
      },
      requiredScope: (name) => (name.startsWith('bench_') ? MCP_READ : services.tools.requiredScope(name)),
      // The bench tools read nothing and change nothing: answered as the registry's read-only tools are.
      isReadOnly: (name) => name.startsWith('bench_') || services.tools.isReadOnly(name),
    },
    [(mcp) => registerModernToolsBeside(mcp, services.tools)],
  );
  await previous.close();
};
