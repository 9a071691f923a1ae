// The oauth read models are idempotent: applying every event twice leaves the same rows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { oauthProjections } from '../../projections/oauth/index.ts';
import { applyStatements, ddl, liveTables, statementsFor } from '../../projections/sql.ts';
import { anyDatabase, type TestDatabase } from '../support/databases.ts';

const test = suite<{ database: TestDatabase }>('projections: oauth read models');
test.before(async (context) => {
  context.database = await anyDatabase();
  for (const projection of oauthProjections)
    for (const statement of ddl(projection, liveTables(projection))) await context.database.db.query(statement);
});
test.after(async ({ database }) => database.dispose());

const grantId = '11111111-1111-4111-8111-111111111111';
let revision = 0n;
const recorded = (stream: string, type: string, data: unknown): RecordedEvent => ({
  id: String(revision),
  stream,
  revision: revision++,
  position: { commit: revision, prepare: revision },
  type,
  data,
  metadata: {},
  createdAt: new Date('2026-01-01T00:00:00Z'),
});
const tokens = (n: number) => ({
  accessTokenId: `${grantId}.a${n}`,
  accessExpiresAt: '2026-01-01T00:10:00.000Z',
  scopes: ['mcp:tools:read'],
  refreshHash: `r${n}`,
  refreshExpiresAt: '2026-02-01T00:00:00.000Z',
});
const events: RecordedEvent[] = [
  recorded('oauth-client-c1', 'ClientRegistered', {
    clientId: 'c1',
    clientName: 'C',
    redirectUris: ['https://a.example/cb'],
    grantTypes: ['authorization_code'],
    tokenEndpointAuthMethod: 'none',
    applicationType: 'web',
    source: 'dynamic',
    at: '2026-01-01T00:00:00.000Z',
  }),
  recorded(`oauth-grant-${grantId}`, 'ConsentGiven', {
    grantId,
    userId: 'u1',
    clientId: 'c1',
    scopes: ['mcp:tools:read'],
    remembered: false,
    at: '2026-01-01T00:00:01.000Z',
  }),
  recorded(`oauth-grant-${grantId}`, 'AuthorizationCodeRedeemed', {
    grantId,
    clientId: 'c1',
    userId: 'u1',
    resource: 'https://as.example/mcp',
    tokens: tokens(1),
    at: '2026-01-01T00:00:02.000Z',
  }),
  recorded(`oauth-grant-${grantId}`, 'RefreshTokenRotated', {
    grantId,
    clientId: 'c1',
    userId: 'u1',
    resource: 'https://as.example/mcp',
    previousHash: 'r1',
    tokens: tokens(2),
    at: '2026-01-01T00:00:03.000Z',
  }),
  recorded(`oauth-grant-${grantId}`, 'AccessTokenRevoked', {
    grantId,
    accessTokenId: `${grantId}.a1`,
    at: '2026-01-01T00:00:04.000Z',
  }),
  recorded('oauth-client-c1', 'ClientResourceServerSet', {
    clientId: 'c1',
    resourceServer: true,
    at: '2026-01-01T00:00:04.500Z',
  }),
  recorded('oauth-client-c1', 'ClientDeleted', { clientId: 'c1', at: '2026-01-01T00:00:05.000Z' }),
  recorded(`oauth-grant-${grantId}`, 'GrantRevoked', { grantId, reason: 'revoked', at: '2026-01-01T00:00:06.000Z' }),
];

const snapshot = async (database: TestDatabase) => {
  const rows: Record<string, unknown[]> = {};
  for (const table of ['oauth_clients', 'oauth_grants', 'oauth_access_tokens', 'oauth_consents'])
    rows[table] = (await database.db.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  return JSON.parse(JSON.stringify(rows)) as Record<string, unknown[]>;
};

test('applying the events twice leaves the same rows', async ({ database }) => {
  const apply = async () => {
    for (const projection of oauthProjections)
      await applyStatements(database.db, statementsFor(projection, events, liveTables(projection)));
  };
  await apply();
  const once = await snapshot(database);
  await apply();
  assert.equal(await snapshot(database), once);
  assert.is((once.oauth_clients![0] as { status: string }).status, 'deleted');
  assert.is((once.oauth_clients![0] as { resource_server: boolean }).resource_server, true);
  assert.is((once.oauth_grants![0] as { status: string }).status, 'revoked');
  assert.equal(
    (once.oauth_access_tokens as { revoked: boolean }[]).map((row) => row.revoked),
    [true, true],
  );
  assert.equal((once.oauth_consents![0] as { scopes: string[] }).scopes, ['mcp:tools:read']);
});

test.run();
