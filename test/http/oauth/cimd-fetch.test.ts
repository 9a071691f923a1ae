// Outbound fetches of client metadata documents are bounded: one total deadline whatever the host does,
// stopped when the browser goes away, merged per URL, capped in number (503 beyond), /oauth/authorize
// rate limited per address, and /readyz tells when the fetch slots stay exhausted. Real loopback servers
// (DANGEROUSLY_ALLOW_PRIVATE_CIMD lets the server fetch from 127.0.0.1).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorizeWith, startDribbler, type Dribbler } from '../../support/dribbler.ts';

type Context = { server: TestServer; capped: TestServer; docs: Dribbler };
const test = suite<Context>('oauth: bounded client metadata document fetches');

test.before(async (context) => {
  context.docs = await startDribbler();
  context.server = await startTestServer({ DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true' });
  context.capped = await startTestServer({
    DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true',
    CIMD_MAX_CONCURRENT_FETCHES: '2',
    AUTHORIZE_RATE_LIMIT_PER_MINUTE: '6',
  });
});
test.after(async ({ server, capped, docs }) => {
  await server.stop();
  await capped.stop();
  await docs.close();
});

const detailOf = (body: string) => (JSON.parse(body) as { code: string; detail: string }).detail;
const codeOf = (body: string) => (JSON.parse(body) as { code: string }).code;

test('a host dribbling a byte every 200 ms is cut at the 5 s deadline: 400 invalid_client, its socket closed', async ({
  server,
  docs,
}) => {
  const path = '/dribble/deadline';
  const started = Date.now();
  const { answer } = authorizeWith(server.base, `${docs.base}${path}`);
  const result = await answer;
  assert.is(result.status, 400);
  assert.is(codeOf(result.body), 'invalid_client');
  assert.is(detailOf(result.body), 'fetching the client metadata document took longer than 5 s');
  assert.ok(result.ms >= 4_900 && result.ms < 6_500, `answered after ${result.ms} ms`);
  await docs.until(() => docs.closedAt.has(path), 1_000);
  assert.ok(docs.closedAt.get(path)! - started < 6_500, 'the host saw the connection closed by the deadline');
});

test('a browser that hangs up stops the fetch: the host sees its socket closed at once', async ({ server, docs }) => {
  const path = '/dribble/hangup';
  const request = authorizeWith(server.base, `${docs.base}${path}`);
  await docs.until(() => docs.hits.get(path) === 1);
  const hungUp = Date.now();
  request.abort();
  await docs.until(() => docs.closedAt.has(path), 2_000);
  assert.ok(docs.closedAt.get(path)! - hungUp < 1_000, 'closed within a second of the hang-up');
});

test('5 concurrent authorizes for one URL make one outbound fetch; all get the document', async ({ server, docs }) => {
  const path = '/delay/500/merged';
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => authorizeWith(server.base, `${docs.base}${path}`).answer),
  );
  assert.equal(
    answers.map((answer) => answer.status),
    [303, 303, 303, 303, 303],
  );
  assert.is(docs.hits.get(path), 1);
});

test('one waiter hanging up does not stop the fetch the others wait for', async ({ server, docs }) => {
  const path = '/delay/800/one-leaves';
  const leaving = authorizeWith(server.base, `${docs.base}${path}`);
  const staying = [1, 2].map(() => authorizeWith(server.base, `${docs.base}${path}`));
  await docs.until(() => docs.hits.get(path) === 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  leaving.abort();
  const answers = await Promise.all(staying.map((request) => request.answer));
  assert.equal(
    answers.map((answer) => answer.status),
    [303, 303],
  );
  assert.is(docs.hits.get(path), 1);
});

test('the cap: with 2 fetches running a third URL → 503 temporarily_unavailable at once; /readyz says so until they end', async ({
  capped,
  docs,
}) => {
  const running = ['/dribble/cap-a', '/dribble/cap-b'].map((path) => authorizeWith(capped.base, `${docs.base}${path}`));
  await docs.until(() => docs.hits.get('/dribble/cap-a') === 1 && docs.hits.get('/dribble/cap-b') === 1);
  const third = await authorizeWith(capped.base, `${docs.base}/delay/0/cap-c`).answer;
  assert.is(third.status, 503);
  assert.is(codeOf(third.body), 'temporarily_unavailable');
  assert.is(third.headers['retry-after'], '5');
  assert.ok(third.ms < 1_000, `refused after ${third.ms} ms`);
  assert.is(docs.hits.get('/delay/0/cap-c'), undefined, 'no connection made beyond the cap');

  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const busy = await fetch(`${capped.base}/readyz`);
  assert.is(busy.status, 503);
  const checks = ((await busy.json()) as { checks: Record<string, string> }).checks;
  assert.match(checks.outbound_fetches!, /^all 2 client metadata document fetch slots busy for \d+ s$/);

  for (const request of running) request.abort();
  await docs.until(() => docs.closedAt.has('/dribble/cap-a') && docs.closedAt.has('/dribble/cap-b'), 2_000);
  const free = await fetch(`${capped.base}/readyz`);
  assert.is(free.status, 200);
  assert.is(((await free.json()) as { checks: Record<string, string> }).checks.outbound_fetches, 'ok');
});

test('/oauth/authorize is rate limited per address: beyond the limit → 429 rate_limited with Retry-After', async ({
  capped,
}) => {
  // The limit is 6 a minute on this server; the previous test used 3.
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 4; i += 1) {
    last = await fetch(`${capped.base}/oauth/authorize?client_id=x`, { headers: { accept: 'application/json' } });
    statuses.push(last.status);
  }
  assert.equal(statuses, [400, 400, 400, 429]);
  assert.ok(Number(last!.headers.get('retry-after')) >= 1);
  assert.is(((await last!.json()) as { code: string }).code, 'rate_limited');
});

test.run();
