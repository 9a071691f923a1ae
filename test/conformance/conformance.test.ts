// The official MCP conformance suite (server scenarios) against the real server in MCP_CONFORMANCE_FIXTURES
// mode: every scored check of the 2025-11-25 and 2026-07-28 requirement sets must pass. The tasks extension
// scenarios (`tasks-*`) are not part of either requirement set; they are counted in README.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runConformance } from './run.ts';

const test = suite('conformance: @modelcontextprotocol/conformance server scenarios');

const summary = (output: string) => output.split('=== SUMMARY ===')[1] ?? output.slice(-3000);

test('every check run for 2025-11-25 passes, scored or not', async () => {
  const result = await runConformance({ requirements: '2025-11-25' });
  assert.is(result.failed, 0, summary(result.output));
  assert.ok(result.passed >= 81, `only ${result.passed} checks passed`);
  assert.ok(result.scored.passed >= 70, `only ${result.scored.passed} scored checks passed`);
});

test('every check required by 2026-07-28 passes', async () => {
  const result = await runConformance({ requirements: '2026-07-28' });
  assert.is(result.scored.failed, 0, summary(result.output));
  assert.ok(result.scored.passed >= 120, `only ${result.scored.passed} checks passed`);
  // The revision's own scenarios are among the scored ones (a parse that found none would pass above).
  for (const name of ['server-stateless', 'sep-2164-resource-not-found', 'input-required-result-tampered-state'])
    assert.ok(result.scenarios.get(name)?.passed, `${name} did not run or did not pass`);
});

test.run();
