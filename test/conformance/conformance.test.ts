// The official MCP conformance suite (server scenarios, spec 2025-11-25, active + pending) against the
// real server in MCP_CONFORMANCE_FIXTURES mode. Every check must pass.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runConformance } from './run.ts';

const test = suite('conformance: @modelcontextprotocol/conformance server scenarios');

test('all server scenarios pass', async () => {
  const result = await runConformance({ suite: 'all' });
  assert.is(result.failed, 0, result.output.split('=== SUMMARY ===')[1] ?? result.output.slice(-3000));
  assert.ok(result.passed >= 47, `only ${result.passed} checks passed`);
});

test.run();
