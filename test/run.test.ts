// test/run.ts prints the line CI reads; its counts come from what the suite printed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countResults } from './support/results.ts';

const test = suite('test runner: counts from the printed report');

const summary = (total: number, passed: number, skipped: number) =>
  `\n  Total:     ${total}\n\u001b[31m  Passed:    ${passed}\u001b[39m\n  Skipped:   ${skipped}\n  Duration:  12.5ms\n`;

test('failures are the total less passed and skipped tests; colours do not matter', () => {
  assert.equal(countResults(`a • ✘\n${summary(10, 7, 1)}`), { passed: 7, failed: 2, skipped: 1 });
});

test('suites skipped for a missing server add the cases they name', () => {
  const output = [
    'eventstore: KurrentDB contract: skipped (12): TEST_EVENTSTORE_URL not set',
    'oauth: browser flow: skipped (1): chromium not installed at /usr/bin/chromium',
    summary(4, 4, 0),
  ].join('\n');
  assert.equal(countResults(output), { passed: 4, failed: 0, skipped: 13 });
});

test('a run that died before uvu printed its summary is one failure', () => {
  assert.equal(countResults('test/a.test.ts\n a  • •'), { passed: 0, failed: 1, skipped: 0 });
});

test.run();
