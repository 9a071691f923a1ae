// /metrics under made-up paths: requests no route matched share one fixed route label, so 500 random
// unknown paths (and odd methods) add a constant number of series, and /healthz stays fast meanwhile.
// Loopback only, bounded counts.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';

const test = suite<{ server: TestServer }>('abuse: /metrics series stay bounded');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

const REQUESTS = 500;
const PARALLEL = 20;
/** One series of the request-duration histogram: 11 buckets, +Inf, _sum and _count. */
const LINES_PER_SERIES = 14;

const scrape = async (server: TestServer) => {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const series = text.split('\n').filter((line) => line && !line.startsWith('#'));
  return { bytes: Buffer.byteLength(text), series };
};

const httpSeries = (series: string[]) => series.filter((line) => line.startsWith('remotemcp_http_request_duration'));

test(`${REQUESTS} unknown paths add a constant number of series (route="unmatched"), /healthz stays fast`, async ({
  server,
}) => {
  // Warm-up: one unknown GET and one odd method, so the series they need exist before counting.
  await fetch(`${server.base}/warm-up-${randomBytes(4).toString('hex')}`);
  await fetch(`${server.base}/warm-up`, { method: 'PROPFIND' });
  const before = await scrape(server);

  const methods = ['GET', 'POST', 'PROPFIND', 'MKCOL', 'SEARCH'];
  let sent = 0;
  const worker = async () => {
    while (sent < REQUESTS) {
      const i = sent++;
      const path = `/${randomBytes(6).toString('hex')}/${i}/${randomBytes(3).toString('hex')}`;
      const response = await fetch(`${server.base}${path}`, { method: methods[i % methods.length]! });
      // Methods no route knows are 501 (RFC 9110 §15.6.2), the rest 404.
      assert.is(response.status, ['GET', 'POST'].includes(methods[i % methods.length]!) ? 404 : 501);
      await response.arrayBuffer();
    }
  };
  let slowest = 0;
  let healthy = 0;
  const prober = async () => {
    while (sent < REQUESTS) {
      const started = performance.now();
      const response = await fetch(`${server.base}/healthz`);
      assert.is(response.status, 200);
      await response.arrayBuffer();
      slowest = Math.max(slowest, performance.now() - started);
      healthy += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await Promise.all([prober(), ...Array.from({ length: PARALLEL }, worker)]);

  const after = await scrape(server);
  const added = after.series.length - before.series.length;
  // At most the series of the unknown methods' statuses (404 for GET, POST and "other"); /healthz's
  // and /metrics' own series existed already or are fixed.
  assert.ok(added <= 4 * LINES_PER_SERIES, `added ${added} series lines`);
  assert.ok(after.bytes - before.bytes < 8_000, `grew ${after.bytes - before.bytes} bytes`);
  const routes = new Set(httpSeries(after.series).map((line) => /route="([^"]*)"/.exec(line)?.[1]));
  assert.equal([...routes].sort(), ['/healthz', '/metrics', 'unmatched']);
  const methodsSeen = new Set(httpSeries(after.series).map((line) => /method="([^"]*)"/.exec(line)?.[1]));
  assert.equal([...methodsSeen].sort(), ['GET', 'POST', 'other']);
  assert.ok(healthy > 0);
  assert.ok(slowest < 500, `/healthz took ${Math.round(slowest)} ms`);
});

test('a second round of new paths adds nothing at all', async ({ server }) => {
  const before = await scrape(server);
  for (let i = 0; i < 50; i += 1)
    await (await fetch(`${server.base}/again-${randomBytes(8).toString('hex')}`)).arrayBuffer();
  const after = await scrape(server);
  assert.is(after.series.length, before.series.length);
});

test.run();
