// Stored replay payloads are bounded (MCP_REPLAY_MAX_BYTES): a large result reaches the client whole,
// the log keeps a stand-in, a resume across it gets a JSON-RPC error for that request id, and the audit
// events stay small whatever the arguments.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream } from '../../domain/sessions/index.ts';
import { toolAuditStream } from '../../domain/tools/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { serveWithStandInTokens } from './tools/support.ts';
import { callTool, getStream, openSession } from './raw.ts';
import { readSse, type StandInTokens } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens; token: string; root: string };
const test = suite<Context>('mcp: bounded replay payloads');

const FILE_BYTES = 3 * 1024 * 1024;
const LIMIT = 256 * 1024;

test.before(async (context) => {
  context.server = await startTestServer();
  context.root = context.server.services.config.fsRoots[0]!;
  fs.mkdirSync(context.root, { recursive: true });
  // Random text: PostgreSQL compresses large jsonb values, and repeated text would hide what is stored.
  const random = randomBytes((FILE_BYTES / 4) * 3).toString('base64');
  fs.writeFileSync(path.join(context.root, 'big.txt'), random.replace(/(.{76})/g, '$1\n'));
  fs.writeFileSync(path.join(context.root, 'small.txt'), 'small file\n');
  context.tokens = await serveWithStandInTokens(context.server);
  context.token = (await context.tokens.issue({ sub: 'user-a', aud: `${context.server.base}/mcp` })).token;
});
test.after(({ server }) => server.stop());

/** Bytes the event table holds after `position` (PostgreSQL's own measure of the stored jsonb). */
const storedSince = async (context: Context, position: string) => {
  const { rows } = await context.server.services.db.query<{ bytes: number; events: number }>(
    `SELECT coalesce(sum(pg_column_size(data) + pg_column_size(metadata)), 0)::int AS bytes, count(*)::int AS events
       FROM events WHERE global_position > $1`,
    [position],
  );
  return rows[0]!;
};
const head = async (context: Context) =>
  (
    await context.server.services.db.query<{ at: string }>(
      'SELECT coalesce(max(global_position), 0)::text AS at FROM events',
    )
  ).rows[0]!.at;
type Answer = { id: number; result?: { content: { text: string }[] }; error?: unknown };

test('5 reads of a 3 MB file: the client gets it whole each time, the log grows by a few KB', async (context) => {
  const { base } = context.server;
  const sessionId = await openSession(base, context.token);
  const expected = fs.readFileSync(path.join(context.root, 'big.txt'), 'utf8');
  const before = await head(context);
  for (let id = 1; id <= 5; id += 1) {
    const events = await readSse(
      await callTool(base, context.token, sessionId, id, 'fs_read_text_file', { path: 'big.txt' }),
    );
    const answer = JSON.parse(events.find((event) => event.data.includes('"result"'))!.data) as Answer;
    assert.is(answer.result!.content[0]!.text.length, expected.length);
    assert.ok(answer.result!.content[0]!.text === expected);
  }
  await context.server.services.groupCommit.flush();
  const grown = await storedSince(context, before);
  // Per read: the response's stand-in and the ToolCalled audit event (plus a priming event at most).
  assert.ok(grown.bytes < 5 * 4_096, `${grown.bytes} bytes in ${grown.events} events`);
  assert.ok(grown.events >= 10 && grown.events <= 15, `${grown.events} events`);

  const stored = (await context.server.services.log.readStream(messageStream(sessionId)))
    .map((event) => event.data as { omittedBytes?: number; message: Answer })
    .filter((data) => data.omittedBytes !== undefined);
  assert.is(stored.length, 5);
  assert.ok(stored.every((data) => data.omittedBytes! > FILE_BYTES));
});

test('a resume across the large response gets a JSON-RPC error for its id; a small one is replayed whole', async (context) => {
  const { base } = context.server;
  const sessionId = await openSession(base, context.token);
  const big = await readSse(
    await callTool(base, context.token, sessionId, 7, 'fs_read_text_file', { path: 'big.txt' }),
  );
  const bigAnswer = big.find((event) => event.data.includes('"result"'))!;
  const resumed = await readSse(await getStream(base, context.token, sessionId, big[0]!.id!));
  const replayed = resumed.filter((event) => event.data !== '');
  assert.is(replayed.length, 1);
  assert.is(replayed[0]!.id, bigAnswer.id);
  const bytes = Buffer.byteLength(bigAnswer.data);
  assert.equal(JSON.parse(replayed[0]!.data), {
    jsonrpc: '2.0',
    id: 7,
    error: {
      code: -32000,
      message: `The response (${bytes} bytes) was larger than this server keeps for redelivery (${LIMIT} bytes); send the request again`,
      data: { reason: 'replay_payload_too_large', bytes, limit: LIMIT },
    },
  });

  const small = await readSse(
    await callTool(base, context.token, sessionId, 8, 'fs_read_text_file', { path: 'small.txt' }),
  );
  const again = await readSse(await getStream(base, context.token, sessionId, small[0]!.id!));
  assert.equal(
    again.filter((event) => event.data !== '').map((event) => JSON.parse(event.data) as unknown),
    small.filter((event) => event.data !== '').map((event) => JSON.parse(event.data) as unknown),
  );
});

test('the ToolCalled audit event stays small: long values, many keys and long key names are summarized', async (context) => {
  const { base } = context.server;
  const sessionId = await openSession(base, context.token);
  const noise = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`${'k'.repeat(100)}${i}`, 'v'.repeat(50)]));
  await readSse(
    await callTool(base, context.token, sessionId, 1, 'fs_read_text_file', { path: 'small.txt', extra: noise }),
  );
  await context.server.services.groupCommit.flush();
  const audit = await context.server.services.log.readStream(toolAuditStream('user-a'));
  const last = audit[audit.length - 1]!;
  assert.ok(JSON.stringify(last.data).length < 4_096, `${JSON.stringify(last.data).length} bytes`);
  const extra = (last.data as { arguments: { extra: Record<string, unknown> } }).arguments.extra;
  assert.is(Object.keys(extra).length, 21);
  assert.is(extra['…'], '4980 more keys');
});

test.run();
