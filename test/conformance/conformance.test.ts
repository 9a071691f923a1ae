// The official MCP conformance suite (server scenarios) against the real server in MCP_CONFORMANCE_FIXTURES
// mode: every scored check of the 2025-11-25 and 2026-07-28 requirement sets must pass. The tasks extension
// scenarios (`tasks-*`) are in neither set: `--suite all` runs them, and each one below passes whole. The
// SDK's own conformance server fails all nine that score checks; three of ours still fail a little, named below.
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

/** Checks per tasks-extension scenario that pass in `--suite all` (the scenario's every check). */
const TASKS_PASSING: Record<string, number> = {
  'tasks-lifecycle': 9,
  'tasks-capability-negotiation': 5,
  'tasks-wire-fields': 4,
  'tasks-request-state-removal': 3,
  'tasks-request-headers': 5,
  'tasks-mrtr-composition': 2,
};
/**
 * What still fails: no task of ours waits for input, so tasks/update has nothing to resume (input_required
 * inside a task: three checks of tasks-mrtr-input, one of tasks-dispatch-and-envelope that needs it); and
 * a tool that requires a task cannot answer -32021 through the SDK's tool dispatch (tasks-required-task-error).
 */
const TASKS_FAILING: Record<string, { passed: number; failed: number }> = {
  'tasks-mrtr-input': { passed: 1, failed: 3 },
  'tasks-dispatch-and-envelope': { passed: 8, failed: 1 },
  'tasks-required-task-error': { passed: 1, failed: 1 },
};

test('--suite all: the tasks extension scenarios, per scenario', async () => {
  const result = await runConformance({ suite: 'all' });
  for (const [name, passed] of Object.entries(TASKS_PASSING))
    assert.equal(result.scenarios.get(name), { passed, failed: 0 }, name);
  for (const [name, counts] of Object.entries(TASKS_FAILING)) assert.equal(result.scenarios.get(name), counts, name);
  // Nothing else fails in the whole suite.
  const expectedFailures = Object.values(TASKS_FAILING).reduce((sum, counts) => sum + counts.failed, 0);
  assert.is(result.failed, expectedFailures, summary(result.output));
});

test.run();
