// parseForm reads a plain form (the exact urlencoded type, a known length) on a path of its own and hands
// anything else to @koa/bodyparser. Both paths must give one result: every body here goes over real HTTP
// once with the exact type (fast path) and once with a type parameter that only the general parser takes,
// and the answers (fields, raw text, status and error) must be identical.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseForm } from '../../http/forms.ts';

const test = suite<{ server?: http.Server; base: string }>('http: the plain form path equals the general parser', {
  base: '',
});

test.before(async (context) => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const { status, code, message } = error as { status?: number; code?: string; message: string };
      ctx.status = status ?? 500;
      ctx.body = { error: code ?? null, message };
    }
  });
  app.use(parseForm);
  app.use((ctx) => {
    ctx.body = { body: ctx.request.body, raw: (ctx.request as { rawBody?: string }).rawBody ?? null };
  });
  context.server = http.createServer(app.callback());
  await new Promise<void>((resolve) => context.server!.listen(0, '127.0.0.1', resolve));
  context.base = `http://127.0.0.1:${(context.server!.address() as AddressInfo).port}`;
});
test.after(({ server }) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const post = async (base: string, type: string, body: Buffer) => {
  const response = await fetch(`${base}/`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: new Uint8Array(body),
  });
  return { status: response.status, json: await response.json() };
};

const BODIES: (string | Buffer)[] = [
  'grant_type=client_credentials&scope=mcp%3Aread',
  'grant_type=refresh_token&refresh_token=abc.def-ghi_jkl&client_id=c1',
  '',
  'a=1&b=2',
  'a=+x+y+',
  'a=%E2%82%AC&b=%2B&c=x%26y',
  'a=%zz&b=%',
  'a',
  'a=',
  '=x',
  'a==b',
  'a=1&&b=2',
  '&a=1',
  'a=1&',
  'a=1&a=2',
  'a[b]=1',
  'a%5Bb%5D=1',
  'a%5bb%5d=1',
  'a.b=1',
  'a%2Eb=1',
  '__proto__=x',
  'constructor=1',
  'toString=1&a=2',
  'hasOwnProperty=1',
  'A-b_c9=1',
  'é=1',
  '%C3%A9=1',
  '\ufeffa=1',
  'a=%00',
  'a=%ED%A0%80',
  'a=x%00y&b=1',
  Array.from({ length: 100 }, (_, i) => `k${i}=${i}`).join('&'),
  Array.from({ length: 150 }, (_, i) => `k${i}=${i}`).join('&'),
  `a=${'x'.repeat(70_000)}`,
  Buffer.from([0x61, 0x3d, 0xff, 0xfe]),
  Buffer.from([0x61, 0x3d, 0xc3]),
];

test('every body: the same fields, raw text, status and error on both paths', async ({ base }) => {
  for (const body of BODIES) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const fast = await post(base, 'application/x-www-form-urlencoded', bytes);
    const general = await post(base, 'application/x-www-form-urlencoded; x=1', bytes);
    assert.equal(fast, general, `body ${JSON.stringify(bytes.toString('utf8').slice(0, 60))}`);
  }
});

test('the answers are the ones expected (a path that lost the fields would agree with itself)', async ({ base }) => {
  const plain = await post(base, 'application/x-www-form-urlencoded', Buffer.from('a=+x%2By&b=%E2%82%AC'));
  assert.equal(plain, { status: 200, json: { body: { a: ' x+y', b: '€' }, raw: 'a=+x%2By&b=%E2%82%AC' } });
  const nul = await post(base, 'application/x-www-form-urlencoded', Buffer.from('a=x%00y'));
  assert.equal(nul.status, 400);
  assert.equal(nul.json.error, 'invalid_request');
  const repeated = await post(base, 'application/x-www-form-urlencoded', Buffer.from('a=1&a=2'));
  assert.equal(repeated.json.body, { a: '1' });
  const large = await post(base, 'application/x-www-form-urlencoded', Buffer.from(`a=${'x'.repeat(70_000)}`));
  assert.is(large.status, 413);
});

test.run();
