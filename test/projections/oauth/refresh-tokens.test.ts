// oauth_refresh_tokens: every refresh token a grant issued, until it expires. Inserts once and deletes
// what has expired by the event's time, so the events applied twice leave the same rows.
import * as assert from 'uvu/assert';
import { GrantEvent, grantStream } from '../../../domain/grants/index.ts';
import { refreshTokensProjection } from '../../../projections/oauth/refresh-tokens.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: oauth_refresh_tokens');

const grantId = '11111111-1111-4111-8111-111111111111';
const other = '22222222-2222-4222-8222-222222222222';
const userId = '3f0b6c1e-5a2d-5e4f-9a1b-0c2d3e4f5a6b';
const resource = 'https://mcp.example/mcp';
const scopes = ['mcp:tools:read'];

test('refresh tokens issued and rotated past the first one’s lifetime, applied twice', async ({ database }) => {
  const record = recorder(GrantEvent);
  const events = [
    record(grantStream(grantId), {
      type: 'AuthorizationCodeRedeemed',
      data: {
        grantId,
        clientId: 'web-1',
        userId,
        resource,
        tokens: {
          accessTokenId: `${grantId}.a1`,
          accessExpiresAt: '2026-01-01T01:00:00.000Z',
          scopes,
          refreshHash: 'r1',
          refreshExpiresAt: '2026-01-02T00:00:00.000Z',
        },
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    // A code grant without refresh_token: nothing to keep.
    record(grantStream(other), {
      type: 'AuthorizationCodeRedeemed',
      data: {
        grantId: other,
        clientId: 'web-2',
        userId,
        resource,
        tokens: { accessTokenId: `${other}.a1`, accessExpiresAt: '2026-01-01T01:00:00.000Z', scopes },
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(grantStream(grantId), {
      type: 'RefreshTokenRotated',
      data: {
        grantId,
        clientId: 'web-1',
        userId,
        resource,
        previousHash: 'r1',
        tokens: {
          accessTokenId: `${grantId}.a2`,
          accessExpiresAt: '2026-01-01T13:00:00.000Z',
          scopes,
          refreshHash: 'r2',
          refreshExpiresAt: '2026-01-02T12:00:00.000Z',
        },
        at: '2026-01-01T12:00:00.000Z',
      },
    }),
    // r1 expired at midnight: this rotation removes its row.
    record(grantStream(grantId), {
      type: 'RefreshTokenRotated',
      data: {
        grantId,
        clientId: 'web-1',
        userId,
        resource,
        previousHash: 'r2',
        tokens: {
          accessTokenId: `${grantId}.a3`,
          accessExpiresAt: '2026-01-02T07:00:00.000Z',
          scopes,
          refreshHash: 'r3',
          refreshExpiresAt: '2026-01-03T06:00:00.000Z',
        },
        at: '2026-01-02T06:00:00.000Z',
      },
    }),
    record(grantStream(grantId), {
      type: 'GrantRevoked',
      data: { grantId, reason: 'revoked', at: '2026-01-02T07:00:00.000Z' },
    }),
  ];
  // An old redemption applied alone after the rotations would put back r1's row, already expired (the
  // reuse check reads only unexpired rows); the runner applies events in log order, so it never happens.
  const rows = await applyTwice(
    database.db,
    refreshTokensProjection,
    events,
    { oauth_refresh_tokens: 'refresh_hash' },
    { lateEvents: false },
  );
  assert.equal(rows.oauth_refresh_tokens, [
    { refresh_hash: 'r2', grant_id: grantId, expires_at: '2026-01-02T12:00:00.000Z' },
    { refresh_hash: 'r3', grant_id: grantId, expires_at: '2026-01-03T06:00:00.000Z' },
  ]);
});

test.run();
