// The one error table and its three wires, on a real Koa app over HTTP: the same thrown error answers as
// problem details, as an RFC 6749 §5.2 body and as a JSON-RPC error, each with the table's status.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { z } from 'zod';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainError, TemporarilyUnavailableError } from '../../domain/shared.ts';
import { errorHandler, HttpError, jsonRpcErrors, oauthJsonErrors, RPC, statusOfCode } from '../../http/errors.ts';

type Context = { app: http.Server; url: string };
const test = suite<Context>('http: one error table, three wires');

const THROWN: Record<string, () => unknown> = {
  'user-missing': () => new DomainError('user_not_found', 'no such user'),
  'client-exists': () => new DomainError('client_exists', 'taken'),
  'made-up-not-found': () => new DomainError('recipe_not_found', 'a code the table does not list'),
  'bad-client': () => new DomainError('invalid_client', 'wrong secret'),
  'http-origin': () => new HttpError(403, 'forbidden_origin', 'not from there'),
  'http-unauthorized': () => new HttpError(401, 'unauthorized', 'a bearer token is required'),
  busy: () => new TemporarilyUnavailableError('full', 7),
  zod: () => z.object({ n: z.number() }).parse({ n: 'x' }),
  bug: () => new Error('secret internals'),
};

test.before(async (context) => {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler());
  const wires: Record<string, Koa.Middleware> = { rpc: jsonRpcErrors, oauth: oauthJsonErrors };
  app.use(async (ctx, next) => {
    const wire = wires[ctx.path.split('/')[1]!];
    return wire ? wire(ctx, next) : next();
  });
  app.use(async (ctx) => {
    const make = THROWN[ctx.path.split('/')[2]!];
    if (make) throw make();
  });
  context.app = http.createServer(app.callback());
  await new Promise<void>((resolve) => context.app.listen(0, '127.0.0.1', resolve));
  context.url = `http://127.0.0.1:${(context.app.address() as AddressInfo).port}`;
});
test.after(({ app }) => {
  app.close();
});

const get = async ({ url }: Context, path: string) => {
  const response = await fetch(`${url}${path}`, { headers: { accept: 'application/json' } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
};

test('the table: listed codes get their status, anything else is the caller’s input (400)', () => {
  assert.is(statusOfCode('user_not_found'), 404);
  assert.is(statusOfCode('client_exists'), 409);
  assert.is(statusOfCode('invalid_client'), 401);
  assert.is(statusOfCode('temporarily_unavailable'), 503);
  // No guessing from a suffix: an unlisted code is 400 until the table names it.
  assert.is(statusOfCode('recipe_not_found'), 400);
});

test('problem details: status from the table, code and detail shown, internals hidden', async (context) => {
  const cases: Array<[string, number, string, string]> = [
    ['user-missing', 404, 'user_not_found', 'no such user'],
    ['client-exists', 409, 'client_exists', 'taken'],
    ['made-up-not-found', 400, 'recipe_not_found', 'a code the table does not list'],
    ['zod', 400, 'invalid_request', 'n: Invalid input: expected number, received string'],
    ['busy', 503, 'temporarily_unavailable', 'full'],
    ['bug', 500, 'internal_error', 'internal server error'],
  ];
  for (const [name, status, code, detail] of cases) {
    const answer = await get(context, `/page/${name}`);
    assert.is(answer.status, status, name);
    assert.is(answer.headers.get('content-type'), 'application/problem+json', name);
    assert.equal([answer.body.code, answer.body.detail, answer.body.status], [code, detail, status], name);
  }
  assert.is((await get(context, '/page/busy')).headers.get('retry-after'), '7');
});

test('OAuth wire: RFC 6749 §5.2 body, no-store; non-OAuth codes become invalid_request; faults go on', async (context) => {
  const cases: Array<[string, number, string]> = [
    ['bad-client', 401, 'invalid_client'],
    ['user-missing', 404, 'user_not_found'],
    ['http-origin', 403, 'forbidden_origin'],
    ['http-unauthorized', 401, 'invalid_request'],
    ['zod', 400, 'invalid_request'],
    ['busy', 503, 'temporarily_unavailable'],
  ];
  for (const [name, status, error] of cases) {
    const answer = await get(context, `/oauth/${name}`);
    assert.is(answer.status, status, name);
    assert.is(answer.headers.get('cache-control'), 'no-store', name);
    assert.equal(Object.keys(answer.body), ['error', 'error_description'], name);
    assert.is(answer.body.error, error, name);
  }
  // A server fault is not an OAuth error: the app-wide handler answers it, without internals.
  const bug = await get(context, '/oauth/bug');
  assert.equal([bug.status, bug.body.code, bug.body.detail], [500, 'internal_error', 'internal server error']);
});

test('JSON-RPC wire: one shape for every thrown error, the stable code in error.data', async (context) => {
  const cases: Array<[string, number, number, string]> = [
    ['http-unauthorized', 401, RPC.serverError, 'unauthorized'],
    ['http-origin', 403, RPC.serverError, 'forbidden_origin'],
    ['busy', 503, RPC.serverError, 'temporarily_unavailable'],
    ['bug', 500, RPC.internalError, 'internal_error'],
  ];
  for (const [name, status, code, stable] of cases) {
    const answer = await get(context, `/rpc/${name}`);
    assert.is(answer.status, status, name);
    assert.is(answer.body.jsonrpc, '2.0', name);
    assert.is(answer.body.id, null, name);
    assert.is(answer.body.error.code, code, name);
    assert.is(answer.body.error.data.code, stable, name);
  }
  assert.is((await get(context, '/rpc/bug')).body.error.message, 'internal server error');
});

test('JSON-RPC codes of MCP 2026-07-28 are in the table', () => {
  assert.equal(
    [RPC.headerMismatch, RPC.missingClientCapability, RPC.unsupportedProtocolVersion],
    [-32020, -32021, -32022],
  );
});

test.run();
