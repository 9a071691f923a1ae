// oauth_grants, oauth_access_tokens and oauth_consents: inserts once, revocations and consent unions
// that re-applying cannot undo, so the events applied twice (or an old one late, alone) leave the same
// rows. Events of the authorization dance that no table holds are in the sequence too.
import * as assert from 'uvu/assert';
import { GrantEvent, grantStream, type IssuedTokens } from '../../../domain/grants/index.ts';
import { grantsProjection } from '../../../projections/oauth/grants.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: oauth_grants');

const userId = '3f0b6c1e-5a2d-5e4f-9a1b-0c2d3e4f5a6b';
const serviceUserId = '7c1d2e3f-4a5b-5c6d-8e7f-9a0b1c2d3e4f';
const code = '11111111-1111-4111-8111-111111111111';
const again = '22222222-2222-4222-8222-222222222222';
const machine = '33333333-3333-4333-8333-333333333333';
const resource = 'https://mcp.example/mcp';
const tokens = (grantId: string, n: number, scopes: string[], refresh = true): IssuedTokens => ({
  accessTokenId: `${grantId}.a${n}`,
  accessExpiresAt: `2026-01-01T0${n}:10:00.000Z`,
  scopes,
  ...(refresh ? { refreshHash: `r${n}`, refreshExpiresAt: `2026-02-0${n}T00:00:00.000Z` } : {}),
});

test('a code grant refreshed and revoked, a second consent and a machine grant, applied twice', async ({
  database,
}) => {
  const record = recorder(GrantEvent);
  const events = [
    record(grantStream(code), {
      type: 'AuthorizationRequested',
      data: {
        grantId: code,
        clientId: 'web-1',
        redirectUri: 'https://notes.example/cb',
        scopes: ['mcp:tools:read'],
        resource,
        codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        state: 'xyz',
        expiresAt: '2026-01-01T00:10:00.000Z',
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(grantStream(code), {
      type: 'ConsentGiven',
      data: {
        grantId: code,
        userId,
        clientId: 'web-1',
        scopes: ['mcp:tools:read'],
        remembered: true,
        at: '2026-01-01T00:00:01.000Z',
      },
    }),
    record(grantStream(code), {
      type: 'AuthorizationCodeIssued',
      data: {
        grantId: code,
        userId,
        codeHash: 'code-sha256',
        expiresAt: '2026-01-01T00:01:00.000Z',
        authTime: '2026-01-01T00:00:01.000Z',
        at: '2026-01-01T00:00:01.000Z',
      },
    }),
    record(grantStream(code), {
      type: 'AuthorizationCodeRedeemed',
      data: {
        grantId: code,
        clientId: 'web-1',
        userId,
        resource,
        tokens: tokens(code, 1, ['mcp:tools:read']),
        at: '2026-01-01T00:00:02.000Z',
      },
    }),
    record(grantStream(code), {
      type: 'RefreshTokenRotated',
      data: {
        grantId: code,
        clientId: 'web-1',
        userId,
        resource,
        previousHash: 'r1',
        tokens: tokens(code, 2, ['mcp:tools:read']),
        at: '2026-01-01T01:00:00.000Z',
      },
    }),
    // Written beside a command's events to bound loads; no table holds it.
    record(grantStream(code), {
      type: 'GrantSnapshotted',
      data: {
        grantId: code,
        clientId: 'web-1',
        redirectUri: 'https://notes.example/cb',
        scopes: ['mcp:tools:read'],
        resource,
        codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        state: 'xyz',
        expiresAt: '2026-01-01T00:10:00.000Z',
        status: 'active',
        userId,
        codeHash: 'code-sha256',
        authTime: '2026-01-01T00:00:01.000Z',
        refresh: [
          { refreshHash: 'r1', expiresAt: '2026-02-01T00:00:00.000Z', supersededAt: '2026-01-01T01:00:00.000Z' },
          { refreshHash: 'r2', expiresAt: '2026-02-02T00:00:00.000Z' },
        ],
        accessTokens: [
          { id: `${code}.a1`, expiresAt: '2026-01-01T01:10:00.000Z' },
          { id: `${code}.a2`, expiresAt: '2026-01-01T02:10:00.000Z' },
        ],
      },
    }),
    record(grantStream(code), {
      type: 'AccessTokenRevoked',
      data: { grantId: code, accessTokenId: `${code}.a1`, at: '2026-01-01T01:30:00.000Z' },
    }),
    // The same user and client ask again for more: the remembered consent becomes the union.
    record(grantStream(again), {
      type: 'ConsentGiven',
      data: {
        grantId: again,
        userId,
        clientId: 'web-1',
        scopes: ['mcp:tools:write', 'mcp:tools:read'],
        remembered: true,
        at: '2026-01-01T02:00:00.000Z',
      },
    }),
    record(grantStream(again), {
      type: 'ConsentDenied',
      data: { grantId: again, userId, at: '2026-01-01T02:00:01.000Z' },
    }),
    record(grantStream(code), {
      type: 'GrantRevoked',
      data: { grantId: code, reason: 'refresh_reuse', at: '2026-01-01T03:00:00.000Z' },
    }),
    record(grantStream(machine), {
      type: 'ClientCredentialsIssued',
      data: {
        grantId: machine,
        clientId: 'machine-1',
        userId: serviceUserId,
        resource,
        tokens: tokens(machine, 4, ['mcp:tools:read'], false),
        at: '2026-01-01T04:00:00.000Z',
      },
    }),
  ];
  const rows = await applyTwice(database.db, grantsProjection, events, {
    oauth_grants: 'grant_id',
    oauth_access_tokens: 'jti',
    oauth_consents: 'user_id, client_id',
  });
  assert.equal(rows.oauth_grants, [
    {
      grant_id: code,
      client_id: 'web-1',
      user_id: userId,
      scopes: ['mcp:tools:read'],
      resource,
      status: 'revoked',
      refresh_expires_at: '2026-02-02T00:00:00.000Z',
      created_at: '2026-01-01T00:00:02.000Z',
      updated_at: '2026-01-01T03:00:00.000Z',
    },
    {
      grant_id: machine,
      client_id: 'machine-1',
      user_id: serviceUserId,
      scopes: ['mcp:tools:read'],
      resource,
      status: 'active',
      refresh_expires_at: null,
      created_at: '2026-01-01T04:00:00.000Z',
      updated_at: '2026-01-01T04:00:00.000Z',
    },
  ]);
  assert.equal(
    rows.oauth_access_tokens!.map((row) => [row.jti, row.revoked, row.expires_at]),
    [
      [`${code}.a1`, true, '2026-01-01T01:10:00.000Z'],
      [`${code}.a2`, true, '2026-01-01T02:10:00.000Z'],
      [`${machine}.a4`, false, '2026-01-01T04:10:00.000Z'],
    ],
  );
  assert.equal(rows.oauth_consents, [
    {
      user_id: userId,
      client_id: 'web-1',
      scopes: ['mcp:tools:read', 'mcp:tools:write'],
      updated_at: '2026-01-01T02:00:00.000Z',
    },
  ]);
});

test.run();
