// Abuse: 100 concurrent authorizes, each naming a different document on a host that dribbles a byte every
// 200 ms. The default cap (32 outbound fetches) holds: the host never sees more connections than that, the
// rest are refused at once (503), the held ones end at the 5 s deadline, and meanwhile another caller's
// /admin/login and /oauth/register answer normally. Loopback only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import { authorizeWith, startDribbler, type Dribbler } from '../support/dribbler.ts';

const CAP = 32;
const test = suite<{ server: TestServer; docs: Dribbler }>('abuse: outbound CIMD fetches');

test.before(async (context) => {
  context.docs = await startDribbler();
  context.server = await startTestServer({ DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true' });
});
test.after(async ({ server, docs }) => {
  await server.stop();
  await docs.close();
});

test(`100 authorizes against a dribbling host: at most ${CAP} connections, the rest 503 at once; the server stays healthy`, async ({
  server,
  docs,
}) => {
  const register = () =>
    fetch(`${server.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }),
    });
  // Warm up (template compilation, first queries) so the timing below measures the flood, not a cold start.
  await (await fetch(`${server.base}/admin/login`)).text();
  await (await register()).text();

  const started = Date.now();
  const requests = Array.from({ length: 100 }, (_, i) => authorizeWith(server.base, `${docs.base}/dribble/abuse-${i}`));
  await docs.until(() => docs.open() >= CAP, 5_000);

  // Another caller meanwhile: the admin sign-in page and open registration answer as usual, well before
  // the held fetches end (a loose bound: this machine's cores are shared).
  const before = Date.now();
  const login = await fetch(`${server.base}/admin/login`);
  assert.is(login.status, 200);
  assert.match(await login.text(), /name="password"/);
  const registered = await register();
  assert.is(registered.status, 201);
  assert.ok(((await registered.json()) as { client_id?: string }).client_id);
  assert.ok(Date.now() - before < 3_000, `other caller waited ${Date.now() - before} ms`);
  assert.ok(docs.open() > 0, 'the fetches were still held meanwhile');

  const answers = await Promise.all(requests.map((request) => request.answer));
  const count = (status: number) => answers.filter((answer) => answer.status === status).length;
  assert.is(count(400), CAP, 'the fetches that ran ended at the deadline');
  assert.is(count(503), 100 - CAP, 'the rest were refused');
  assert.ok(
    answers.filter((answer) => answer.status === 503).every((answer) => answer.ms < 2_000),
    'refusals came at once',
  );
  assert.ok(Date.now() - started < 8_000, `all answered within ${Date.now() - started} ms`);
  assert.is(docs.maxOpen(), CAP, 'the host never saw more connections than the cap');
  await docs.until(() => docs.open() === 0, 2_000);
  const ready = await fetch(`${server.base}/readyz`);
  assert.is(ready.status, 200);
});

test.run();
