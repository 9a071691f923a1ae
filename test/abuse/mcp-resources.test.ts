// Abuse of /mcp resources on loopback, bounded: many GET streams on one session, sessions past the
// user's cap, large tool results. Each asserts the cap and that another user is served promptly meanwhile.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream } from '../../domain/sessions/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { serveWithStandInTokens } from '../mcp/tools/support.ts';
import { callTool, getStream, initialize, openReader, openSession } from '../mcp/raw.ts';
import { readSse, type StandInTokens } from '../mcp/support.ts';

type Context = { server: TestServer; tokens: StandInTokens };
const test = suite<Context>('abuse: /mcp streams, sessions, log bytes');

const USER_CAP = 10;
const BIG_BYTES = 2 * 1024 * 1024;

test.before(async (context) => {
  context.server = await startTestServer({ MCP_MAX_SESSIONS_PER_USER: String(USER_CAP) });
  const root = context.server.services.config.fsRoots[0]!;
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'big.txt'), randomBytes((BIG_BYTES / 4) * 3).toString('base64'));
  fs.writeFileSync(path.join(root, 'note.txt'), 'hello\n');
  context.tokens = await serveWithStandInTokens(context.server);
});
test.after(({ server }) => server.stop());

const tokenFor = async (context: Context, sub: string) =>
  (await context.tokens.issue({ sub, aud: `${context.server.base}/mcp` })).token;

/** Another user's tools/call, timed: the server must stay quick for them. */
const timedCall = async (context: Context, token: string, sessionId: string, id: number): Promise<number> => {
  const started = performance.now();
  const events = await readSse(
    await callTool(context.server.base, token, sessionId, id, 'fs_read_text_file', { path: 'note.txt' }),
  );
  assert.ok(events.some((event) => event.data.includes('hello')));
  return performance.now() - started;
};

test('50 GET streams on one session: one is open, 50 more are 409 and store nothing; another user is served meanwhile', async (context) => {
  const { base } = context.server;
  const attacker = await tokenFor(context, 'attacker-streams');
  const sessionId = await openSession(base, attacker);
  const first = openReader(await getStream(base, attacker, sessionId));
  const priming = await first.next();
  const stored = (await context.server.services.log.readStream(messageStream(sessionId))).length;

  const victim = await tokenFor(context, 'victim-streams');
  const victimSession = await openSession(base, victim);
  const [statuses, elapsed] = await Promise.all([
    Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        // Bounded in time too: a stream that were let open would end here as a failure, not a hang.
        const signal = AbortSignal.timeout(3_000);
        const response = await getStream(base, attacker, sessionId, i % 2 === 0 ? undefined : priming.id, signal);
        const status = response.status;
        await response.text().catch(() => undefined);
        return status;
      }),
    ),
    timedCall(context, victim, victimSession, 1),
  ]);
  assert.equal(
    statuses,
    Array.from({ length: 50 }, () => 409),
  );
  assert.ok(elapsed < 2_000, `another user's call took ${Math.round(elapsed)} ms`);
  assert.is((await context.server.services.log.readStream(messageStream(sessionId))).length, stored);
  await first.close();
});

test(`sessions up to cap + 5 for one user: ${USER_CAP} open, 5 refused with 429 and Retry-After; another user is served meanwhile`, async (context) => {
  const { base } = context.server;
  const victim = await tokenFor(context, 'victim-sessions');
  const victimSession = await openSession(base, victim);
  const attempts = async () => {
    const outcomes: { status: number; retryAfter: string | null }[] = [];
    for (let i = 0; i < USER_CAP + 5; i += 1) {
      // A fresh token each time: the per-user cap is what holds.
      const response = await initialize(base, await tokenFor(context, 'attacker-sessions'));
      await response.text();
      outcomes.push({ status: response.status, retryAfter: response.headers.get('retry-after') });
    }
    return outcomes;
  };
  const [outcomes, elapsed] = await Promise.all([attempts(), timedCall(context, victim, victimSession, 1)]);
  assert.equal(
    outcomes.map((outcome) => outcome.status),
    [...Array.from({ length: USER_CAP }, () => 200), ...Array.from({ length: 5 }, () => 429)],
  );
  for (const outcome of outcomes.slice(USER_CAP)) assert.ok(Number(outcome.retryAfter) > 86_000, outcome.retryAfter!);
  assert.ok(elapsed < 2_000, `another user's call took ${Math.round(elapsed)} ms`);
  // Straight from the events table (readAll stops below the PostgreSQL server's oldest running transaction).
  const { rows } = await context.server.services.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE event_type = 'McpSessionOpened' AND data ->> 'userId' = $1`,
    ['attacker-sessions'],
  );
  assert.is(rows[0]!.n, USER_CAP);
});

test('log bytes per request: a 2 MB tool result adds at most 4 KB to the event table', async (context) => {
  const { base } = context.server;
  const token = await tokenFor(context, 'reader');
  const sessionId = await openSession(base, token);
  const { db, groupCommit } = context.server.services;
  const head = async () =>
    (await db.query<{ at: string }>('SELECT coalesce(max(global_position), 0)::text AS at FROM events')).rows[0]!.at;
  for (let id = 1; id <= 3; id += 1) {
    const before = await head();
    const events = await readSse(await callTool(base, token, sessionId, id, 'fs_read_text_file', { path: 'big.txt' }));
    const answer = events.find((event) => event.data.includes('"result"'))!;
    assert.ok(answer.data.length > 2 * BIG_BYTES, 'the client got the whole result (text and structuredContent)');
    await groupCommit.flush();
    const { rows } = await db.query<{ bytes: number }>(
      'SELECT coalesce(sum(pg_column_size(data) + pg_column_size(metadata)), 0)::int AS bytes FROM events WHERE global_position > $1',
      [before],
    );
    assert.ok(rows[0]!.bytes <= 4_096, `${rows[0]!.bytes} bytes stored for one call`);
  }
});

test.run();
