// The MCP session aggregate (given / when / then) and its read model (idempotent: events applied twice).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLive, mcpSessionDecider, type McpSessionEvent } from '../../domain/sessions/index.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { mcpProjections } from '../../projections/mcp/index.ts';
import { applyStatements, ddl, liveTables, statementsFor } from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';
import { specFor } from '../support/decider.ts';
import { formatEventId, parseEventId } from '../../mcp/resumption.ts';

const test = suite<{ database: TestDatabase }>('mcp: session aggregate and read model');
const given = specFor(mcpSessionDecider);
const now = new Date('2026-01-01T00:00:00Z');
const sessionId = '0f6b1c8e-1d2a-4c3b-9a7e-2b5c8d9e0f11';
const initializeParams = {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 'Claude', version: '1.0' },
};
const opened: McpSessionEvent = {
  type: 'McpSessionOpened',
  data: {
    sessionId,
    userId: 'u1',
    clientId: 'c1',
    tokenId: 't1',
    protocolVersion: '2025-11-25',
    clientName: 'Claude',
    clientVersion: '1.0',
    initializeParams,
    openedAt: now.toISOString(),
    expiresAt: '2026-01-02T00:00:00.000Z',
  },
};
const open = {
  type: 'OpenSession' as const,
  sessionId,
  userId: 'u1',
  clientId: 'c1',
  tokenId: 't1',
  initializeParams,
  now,
  lifetimeMs: 86_400_000,
};

test('open → McpSessionOpened with the client and expiry; a taken id → session_exists', () => {
  given([]).when(open).then([opened]);
  given([opened]).when(open).thenFails('session_exists');
  given([])
    .when({ ...open, lifetimeMs: 0 })
    .thenFails('invalid_lifetime');
});

test('close is idempotent; closing an unknown session → session_not_found', () => {
  const closed: McpSessionEvent = {
    type: 'McpSessionClosed',
    data: { sessionId, reason: 'deleted', at: now.toISOString() },
  };
  given([opened]).when({ type: 'CloseSession', reason: 'deleted', now }).then([closed]);
  given([opened, closed]).when({ type: 'CloseSession', reason: 'expired', now }).then([]);
  given([]).when({ type: 'CloseSession', reason: 'deleted', now }).thenFails('session_not_found');
});

test('an admin ends a session: the event names the admin; events written before that reason existed still load', () => {
  const endedBy = { id: 'admin-1', email: 'admin@example.test' };
  const ended: McpSessionEvent = {
    type: 'McpSessionClosed',
    data: { sessionId, reason: 'ended_by_admin', at: now.toISOString(), endedBy },
  };
  given([opened]).when({ type: 'CloseSession', reason: 'ended_by_admin', endedBy, now }).then([ended]);
  given([opened, ended]).when({ type: 'CloseSession', reason: 'expired', now }).then([]);
  // An old-shaped close (no endedBy) parses and closes the session.
  const old = mcpSessionDecider.parse({
    type: 'McpSessionClosed',
    data: { sessionId, reason: 'deleted', at: now.toISOString() },
  });
  const state = [opened, old].reduce(mcpSessionDecider.evolve, mcpSessionDecider.initialState());
  assert.is(state.status, 'closed');
});

test('a session is live while open and before its expiry', () => {
  const state = mcpSessionDecider.evolve(mcpSessionDecider.initialState(), opened);
  assert.ok(isLive(state, now));
  assert.not.ok(isLive(state, new Date('2026-01-02T00:00:00Z')));
  assert.not.ok(
    isLive(
      mcpSessionDecider.evolve(state, {
        type: 'McpSessionClosed',
        data: { sessionId, reason: 'deleted', at: now.toISOString() },
      }),
      now,
    ),
  );
});

test('event ids name session, stream and position; anything else does not parse', () => {
  const id = formatEventId(sessionId, '_GET_stream', 42n);
  assert.equal(parseEventId(id), { sessionId, streamId: '_GET_stream', order: 42n });
  for (const bad of [
    '',
    'x',
    `${sessionId}/s`,
    `${sessionId}/s/-1`,
    `${sessionId}/s/1/2`,
    `${sessionId}/s p/1`,
    `${sessionId}\n/s/1`,
  ])
    assert.is(parseEventId(bad), undefined, bad);
});

test.before(async (context) => {
  context.database = await anyDatabase();
  for (const projection of mcpProjections)
    for (const statement of ddl(projection, liveTables(projection))) await context.database.db.query(statement);
});
test.after(async ({ database }) => database.dispose());

const recorded = (revision: bigint, event: McpSessionEvent): RecordedEvent => ({
  id: String(revision),
  stream: `mcp-session-${sessionId}`,
  revision,
  position: { commit: revision, prepare: revision },
  type: event.type,
  data: event.data,
  metadata: {},
  createdAt: now,
});

test('mcp_sessions: applying the events twice leaves the same rows; only the first close counts', async ({
  database,
}) => {
  const events = [
    recorded(0n, opened),
    recorded(1n, { type: 'McpSessionClosed', data: { sessionId, reason: 'expired', at: '2026-01-02T00:00:00.000Z' } }),
    recorded(2n, { type: 'McpSessionClosed', data: { sessionId, reason: 'deleted', at: '2026-01-03T00:00:00.000Z' } }),
  ];
  const apply = async () => {
    for (const projection of mcpProjections)
      await applyStatements(database.db, statementsFor(projection, events, liveTables(projection)));
  };
  const snapshot = async () =>
    JSON.parse(JSON.stringify((await database.db.query('SELECT * FROM mcp_sessions ORDER BY id')).rows)) as Record<
      string,
      unknown
    >[];
  await apply();
  const once = await snapshot();
  await apply();
  assert.equal(await snapshot(), once);
  assert.is(once.length, 1);
  assert.equal(
    { status: once[0]!.status, reason: once[0]!.close_reason, client: once[0]!.client_name },
    { status: 'closed', reason: 'expired', client: 'Claude' },
  );
});

test.run();
