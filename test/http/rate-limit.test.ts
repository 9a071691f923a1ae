// Rate limits: memory by default; with REDIS_URL two instances share one count (local Redis when reachable).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../app/config.ts';
import { HttpError } from '../../http/errors.ts';
import { SharedRateLimits } from '../../http/rate-limit.ts';
import { skipSuite } from '../support/skip.ts';
import { REDIS_URL, redisIsUp } from '../support/redis.ts';

const LIMIT = { points: 3, durationSeconds: 60 };

const rejects429 = async (promise: Promise<void>) => {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, HttpError);
    assert.is((error as HttpError).status, 429);
    assert.is((error as HttpError).code, 'rate_limited');
    assert.match((error as HttpError).headers['Retry-After'] ?? '', /^\d+$/);
    return;
  }
  assert.unreachable('expected 429');
};

const test = suite('http: rate limits');

test('memory: the fourth hit within the window is refused with Retry-After; other keys are unaffected; reset clears', async () => {
  const limits = new SharedRateLimits(loadConfig({}));
  for (let i = 0; i < 3; i += 1) await limits.consume('login', LIMIT, 'ip-1');
  await rejects429(limits.consume('login', LIMIT, 'ip-1'));
  await limits.consume('login', LIMIT, 'ip-2');
  await limits.reset('login', LIMIT, 'ip-1');
  await limits.consume('login', LIMIT, 'ip-1');
  await limits.close();
});

test.run();

const redisUp = await redisIsUp();
if (!redisUp) skipSuite('http: rate limits on Redis', 'no Redis on 127.0.0.1:6379', 1);
else {
  const shared = suite('http: rate limits on Redis');
  shared('two instances with REDIS_URL count together', async () => {
    const config = loadConfig({ REDIS_URL });
    const a = new SharedRateLimits(config);
    const b = new SharedRateLimits(config);
    assert.ok(await a.ready());
    assert.ok(await b.ready());
    const key = randomUUID();
    await a.consume('shared', LIMIT, key);
    await b.consume('shared', LIMIT, key);
    await a.consume('shared', LIMIT, key);
    await rejects429(b.consume('shared', LIMIT, key));
    await a.close();
    await b.close();
  });
  shared.run();
}
