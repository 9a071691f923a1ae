// The dashboard's request chart and HTTP error counter from the log ring: 4xx and 5xx both count.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LogRing } from '../../../app/logger.ts';
import { logActivity } from '../../../http/admin/stats.ts';

const test = suite('admin: dashboard request and error counts');

test('each request counts once; 4xx are client errors, 5xx and error-level lines are errors', () => {
  const ring = new LogRing();
  const now = new Date('2026-12-07T01:00:30Z');
  const line = (fields: Record<string, unknown>) =>
    ring.write(JSON.stringify({ level: 30, time: '2026-12-07T01:00:10.000Z', ...fields }));
  line({ msg: 'request', status: 200 });
  line({ msg: 'request', status: 403 });
  line({ msg: 'request', status: 404 });
  line({ msg: 'request', status: 500, level: 50 });
  line({ msg: 'tool failed', level: 50 });
  const activity = logActivity(ring, now)!;
  const at = activity.minutes.indexOf('2026-12-07T01:00');
  assert.ok(at >= 0);
  assert.is(activity.requests[at], 4);
  assert.is(activity.clientErrors[at], 2);
  assert.is(activity.errors[at], 2);
});

test.run();
