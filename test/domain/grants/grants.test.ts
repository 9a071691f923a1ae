// The grant decider, pure: given(events).when(command).then(events | error code).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ACCESS_WINDOW,
  REFRESH_WINDOW,
  grantDecider,
  type GrantEvent,
  type GrantState,
} from '../../../domain/grants/index.ts';
import { keyDecider } from '../../../domain/keys/index.ts';
import { clientDecider, matchesRegisteredRedirect, redirectUriProblem } from '../../../domain/clients/index.ts';
import { specFor } from '../../support/decider.ts';

const test = suite('domain: oauth grants, clients, keys');
const given = specFor(grantDecider);
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const grantId = '11111111-1111-4111-8111-111111111111';
const request = {
  clientId: 'c1',
  redirectUri: 'https://app.example/cb',
  scopes: ['mcp:tools:read'],
  resource: 'https://as.example/mcp',
  codeChallenge: 'ch',
};
const requested: GrantEvent = {
  type: 'AuthorizationRequested',
  data: { grantId, ...request, expiresAt: at(600_000).toISOString(), at: t0.toISOString() },
};
const approved: GrantEvent[] = [
  {
    type: 'ConsentGiven',
    data: {
      grantId,
      userId: 'u1',
      clientId: 'c1',
      scopes: ['mcp:tools:read'],
      remembered: false,
      at: at(1_000).toISOString(),
    },
  },
  {
    type: 'AuthorizationCodeIssued',
    data: {
      grantId,
      userId: 'u1',
      codeHash: 'code#',
      expiresAt: at(61_000).toISOString(),
      authTime: at(1_000).toISOString(),
      at: at(1_000).toISOString(),
    },
  },
];
const tokens = (n: number) => ({
  accessTokenId: `${grantId}.a${n}`,
  accessExpiresAt: at(600_000 + n).toISOString(),
  refreshHash: `r${n}#`,
  refreshExpiresAt: at(86_400_000).toISOString(),
});
const redeemed: GrantEvent = {
  type: 'AuthorizationCodeRedeemed',
  data: {
    grantId,
    clientId: 'c1',
    userId: 'u1',
    resource: request.resource,
    tokens: { ...tokens(1), scopes: ['mcp:tools:read'] },
    at: at(2_000).toISOString(),
  },
};
const redeem = (overrides: Record<string, unknown> = {}) => ({
  type: 'RedeemCode' as const,
  codeHash: 'code#',
  clientId: 'c1',
  redirectUri: 'https://app.example/cb',
  verifierChallenge: 'ch',
  resource: undefined,
  tokens: tokens(1),
  now: at(2_000),
  ...overrides,
});
const refresh = (overrides: Record<string, unknown> = {}) => ({
  type: 'Refresh' as const,
  refreshHash: 'r1#',
  clientId: 'c1',
  scopes: undefined,
  resource: undefined,
  tokens: tokens(2),
  graceMs: 30_000,
  now: at(3_000),
  ...overrides,
});

const pending = {
  grantId,
  ...request,
  requestedAt: t0,
  expiresAt: at(600_000),
};
const approve = (overrides: Record<string, unknown> = {}) => ({
  type: 'Approve' as const,
  request: pending,
  userId: 'u1',
  authTime: at(1_000),
  codeHash: 'code#',
  codeExpiresAt: at(61_000),
  remembered: false,
  now: at(1_000),
  ...overrides,
});

test('approve → AuthorizationRequested + ConsentGiven + AuthorizationCodeIssued in one decision (the request is written only with the answer)', () => {
  given([])
    .when(approve())
    .then([requested, ...approved]);
});

test('deny → AuthorizationRequested + ConsentDenied; the request keeps its own time', () => {
  given([])
    .when({ type: 'Deny', request: { ...pending, state: 'st', nonce: 'n' }, userId: 'u1', now: at(5_000) })
    .then([
      { type: 'AuthorizationRequested', data: { ...requested.data, state: 'st', nonce: 'n' } },
      { type: 'ConsentDenied', data: { grantId, userId: 'u1', at: at(5_000).toISOString() } },
    ]);
});

test('a request is answered once: approving or denying again, or after expiry → request_expired', () => {
  given([requested, ...approved])
    .when(approve({ codeHash: 'x' }))
    .thenFails('request_expired');
  given([requested, { type: 'ConsentDenied', data: { grantId, userId: 'u1', at: at(1).toISOString() } }])
    .when(approve())
    .thenFails('request_expired');
  given([requested, ...approved])
    .when({ type: 'Deny', request: pending, userId: 'u1', now: at(1_000) })
    .thenFails('request_expired');
  given([])
    .when(approve({ now: at(600_001) }))
    .thenFails('request_expired');
  given([])
    .when({ type: 'Deny', request: pending, userId: 'u1', now: at(600_000) })
    .thenFails('request_expired');
});

test('logs from earlier versions load: a lone AuthorizationRequested, LoginFailed inside a grant stream', () => {
  const loginFailed: GrantEvent = {
    type: 'LoginFailed',
    data: { grantId, email: 'someone@example.test', at: at(500).toISOString() },
  };
  const fold = (events: GrantEvent[]) =>
    events.map((event) => grantDecider.parse(event)).reduce(grantDecider.evolve, grantDecider.initialState());
  assert.is(fold([requested, loginFailed]).status, 'requested');
  assert.is(fold([requested, loginFailed, ...approved]).status, 'code_issued');
  // A code issued by the earlier version still redeems once.
  given([requested, loginFailed, ...approved])
    .when(redeem())
    .then([redeemed]);
  // A request left pending by the earlier version cannot be answered again (it was never bound to a browser).
  given([requested, loginFailed]).when(approve()).thenFails('request_expired');
});

test('redeem → AuthorizationCodeRedeemed; wrong client, redirect, verifier, expiry, resource fail without events', () => {
  given([requested, ...approved])
    .when(redeem())
    .then([redeemed]);
  given([requested, ...approved])
    .when(redeem({ clientId: 'c2' }))
    .thenFails('invalid_grant');
  given([requested, ...approved])
    .when(redeem({ redirectUri: 'https://app.example/other' }))
    .thenFails('invalid_grant');
  given([requested, ...approved])
    .when(redeem({ verifierChallenge: 'nope' }))
    .thenFails('invalid_grant');
  given([requested, ...approved])
    .when(redeem({ verifierChallenge: undefined }))
    .thenFails('invalid_request');
  given([requested, ...approved])
    .when(redeem({ now: at(61_000) }))
    .thenFails('invalid_grant');
  given([requested, ...approved])
    .when(redeem({ resource: 'https://other.example/' }))
    .thenFails('invalid_target');
  given([requested]).when(redeem()).thenFails('invalid_grant');
});

test('RFC 9700 §4.5: a redeemed code presented again revokes the grant (once)', () => {
  given([requested, ...approved, redeemed])
    .when(redeem({ tokens: tokens(9) }))
    .then([{ type: 'GrantRevoked', data: { grantId, reason: 'code_replay', at: at(2_000).toISOString() } }]);
  const revoked: GrantEvent = {
    type: 'GrantRevoked',
    data: { grantId, reason: 'code_replay', at: at(2_000).toISOString() },
  };
  given([requested, ...approved, redeemed, revoked])
    .when(redeem())
    .then([]);
});

test('refresh rotates; the previous token works within the grace window, reuse after it revokes the grant', () => {
  const rotated: GrantEvent = {
    type: 'RefreshTokenRotated',
    data: {
      grantId,
      clientId: 'c1',
      userId: 'u1',
      resource: request.resource,
      previousHash: 'r1#',
      tokens: { ...tokens(2), scopes: ['mcp:tools:read'] },
      at: at(3_000).toISOString(),
    },
  };
  given([requested, ...approved, redeemed])
    .when(refresh())
    .then([rotated]);
  const inGrace = grantDecider.decide(
    refresh({ tokens: tokens(3), now: at(20_000) }),
    [requested, ...approved, redeemed, rotated].reduce(grantDecider.evolve, grantDecider.initialState()),
  );
  assert.is(inGrace[0]!.type, 'RefreshTokenRotated');
  given([requested, ...approved, redeemed, rotated])
    .when(refresh({ tokens: tokens(3), now: at(40_000) }))
    .then([{ type: 'GrantRevoked', data: { grantId, reason: 'refresh_reuse', at: at(40_000).toISOString() } }]);
  given([requested, ...approved, redeemed])
    .when(refresh({ scopes: ['mcp:tools:read', 'mcp:tools:write'] }))
    .thenFails('invalid_scope');
  given([requested, ...approved, redeemed])
    .when(refresh({ refreshHash: 'unknown' }))
    .thenFails('invalid_grant');
  given([requested, ...approved, redeemed])
    .when(refresh({ clientId: 'c2' }))
    .thenFails('invalid_grant');
});

/** n rotations after `redeemed`, each presenting the token the previous one issued. */
const rotations = (n: number): GrantEvent[] =>
  Array.from({ length: n }, (_, index) => ({
    type: 'RefreshTokenRotated' as const,
    data: {
      grantId,
      clientId: 'c1',
      userId: 'u1',
      resource: request.resource,
      previousHash: `r${index + 1}#`,
      tokens: { ...tokens(index + 2), scopes: ['mcp:tools:read'] },
      at: at(3_000 + index * 1_000).toISOString(),
    },
  }));
const fold = (events: GrantEvent[]): GrantState => events.reduce(grantDecider.evolve, grantDecider.initialState());

test('state keeps the newest refresh and access tokens only, however many rotations came before', () => {
  const state = fold([requested, ...approved, redeemed, ...rotations(200)]);
  assert.is(state.status, 'active');
  if (state.status !== 'active') return;
  assert.is(state.refresh.length, REFRESH_WINDOW);
  assert.is(state.refresh.at(-1)!.hash, 'r201#');
  assert.is(state.refresh[0]!.hash, `r${201 - REFRESH_WINDOW + 1}#`);
  assert.is(state.accessTokens.length, ACCESS_WINDOW);
});

test('RFC 9700 §4.14.2: a token older than the state keeps, known to the read model, revokes the grant', () => {
  const history = [requested, ...approved, redeemed, ...rotations(40)];
  const now = at(100_000);
  // Not in state and not vouched for by the read model: an invalid token, nothing written.
  given(history)
    .when(refresh({ refreshHash: 'r1#', tokens: tokens(99), now }))
    .thenFails('invalid_grant');
  given(history)
    .when(
      refresh({ refreshHash: 'r1#', tokens: tokens(99), now, earlier: { expiresAt: at(86_400_000).toISOString() } }),
    )
    .then([{ type: 'GrantRevoked', data: { grantId, reason: 'refresh_reuse', at: now.toISOString() } }]);
  // Past its own lifetime it is only expired; another client's attempt proves nothing either.
  given(history)
    .when(refresh({ refreshHash: 'r1#', tokens: tokens(99), now, earlier: { expiresAt: at(50_000).toISOString() } }))
    .thenFails('invalid_grant');
  given(history)
    .when(
      refresh({
        refreshHash: 'r1#',
        clientId: 'c2',
        tokens: tokens(99),
        now,
        earlier: { expiresAt: at(86_400_000).toISOString() },
      }),
    )
    .thenFails('invalid_grant');
  // A token still in state is decided by state: the newest one rotates even if `earlier` is set.
  const newest = grantDecider.decide(
    refresh({ refreshHash: 'r41#', tokens: tokens(99), now, earlier: { expiresAt: at(86_400_000).toISOString() } }),
    fold(history),
  );
  assert.is(newest[0]!.type, 'RefreshTokenRotated');
});

test('a GrantSnapshotted event stands for everything before it: the same decisions as the full history', () => {
  const history = [requested, ...approved, redeemed, ...rotations(60)];
  const snapshot = grantDecider.snapshot!.take(fold(history));
  assert.ok(snapshot);
  assert.is(snapshot!.type, 'GrantSnapshotted');
  // Refresh hashes are named as in the other events, so `events export --redact` hides them too.
  assert.ok(JSON.stringify(snapshot!.data).includes('"refreshHash"'));
  assert.equal(fold([snapshot!]), fold(history));
  assert.equal(fold([...history, snapshot!]), fold(history));
  // It survives the log: parsed back from JSON, it folds to the same state.
  assert.equal(fold([grantDecider.parse(JSON.parse(JSON.stringify(snapshot)) as GrantEvent)]), fold(history));
  const cases = [
    refresh({ refreshHash: 'r61#', tokens: tokens(99), now: at(100_000) }),
    refresh({ refreshHash: 'r60#', tokens: tokens(99), now: at(64_000) }),
    refresh({ refreshHash: 'r60#', tokens: tokens(99), now: at(200_000) }),
    { type: 'RevokeGrant' as const, reason: 'revoked' as const, now: at(100_000) },
  ];
  for (const command of cases)
    given([snapshot!])
      .when(command)
      .then(grantDecider.decide(command, fold(history)));
  const revoked = [
    ...history,
    { type: 'GrantRevoked' as const, data: { grantId, reason: 'revoked' as const, at: at(90_000).toISOString() } },
  ];
  const revokedSnapshot = grantDecider.snapshot!.take(fold(revoked))!;
  given([revokedSnapshot])
    .when(refresh({ refreshHash: 'r61#', tokens: tokens(99), now: at(100_000) }))
    .thenFails('invalid_grant');
  // A state field a later version adds survives the snapshot's parse.
  const later = grantDecider.parse({ type: 'GrantSnapshotted', data: { ...snapshot!.data, sessionId: 's1' } });
  assert.is((fold([later]) as unknown as { sessionId?: string }).sessionId, 's1');
  // States before issuance are a few events by construction: no snapshot for them.
  assert.is(grantDecider.snapshot!.take(fold([requested, ...approved])), undefined);
});

test('an access token older than the ones state keeps is revoked only when the caller verified it', () => {
  const history = [requested, ...approved, redeemed, ...rotations(ACCESS_WINDOW + 8)];
  const oldest = `${grantId}.a1`;
  given(history)
    .when({ type: 'RevokeAccessToken', accessTokenId: oldest, now: at(5_000) })
    .then([]);
  given(history)
    .when({ type: 'RevokeAccessToken', accessTokenId: oldest, verified: true, now: at(5_000) })
    .then([{ type: 'AccessTokenRevoked', data: { grantId, accessTokenId: oldest, at: at(5_000).toISOString() } }]);
});

test('revocation is idempotent; an access token of another grant is ignored', () => {
  given([requested, ...approved, redeemed])
    .when({ type: 'RevokeGrant', reason: 'revoked', now: at(5_000) })
    .then([{ type: 'GrantRevoked', data: { grantId, reason: 'revoked', at: at(5_000).toISOString() } }]);
  given([
    requested,
    ...approved,
    redeemed,
    { type: 'GrantRevoked', data: { grantId, reason: 'revoked', at: at(5_000).toISOString() } },
  ])
    .when({ type: 'RevokeGrant', reason: 'revoked', now: at(6_000) })
    .then([]);
  given([requested, ...approved, redeemed])
    .when({ type: 'RevokeAccessToken', accessTokenId: 'other', now: at(5_000) })
    .then([]);
});

test('redirect URIs: registration rules and RFC 8252 loopback matching', () => {
  assert.is(redirectUriProblem('https://claude.ai/api/mcp/auth_callback', 'web'), undefined);
  assert.is(redirectUriProblem('http://localhost:3000/cb', 'web'), undefined);
  assert.ok(redirectUriProblem('http://evil.example/cb', 'web'));
  assert.ok(redirectUriProblem('javascript:alert(1)', 'native'));
  assert.is(redirectUriProblem('com.example.app:/cb', 'native'), undefined);
  assert.ok(matchesRegisteredRedirect('http://127.0.0.1:5000/cb', ['http://127.0.0.1:9999/cb']));
  assert.not.ok(matchesRegisteredRedirect('http://localhost:5000/cb', ['http://127.0.0.1:9999/cb']));
  assert.not.ok(matchesRegisteredRedirect('http://127.0.0.1:5000/cb/x', ['http://127.0.0.1:9999/cb']));
  assert.not.ok(matchesRegisteredRedirect('https://app.example/cb/', ['https://app.example/cb']));
});

test('clients: a confidential client needs a secret hash; deleting twice is a no-op', () => {
  const metadata = {
    clientName: 'x',
    redirectUris: ['https://a.example/cb'],
    grantTypes: ['authorization_code' as const],
    tokenEndpointAuthMethod: 'client_secret_basic' as const,
    applicationType: 'web' as const,
  };
  specFor(clientDecider)([])
    .when({ type: 'RegisterClient', clientId: 'c', metadata, source: 'admin', now: t0 })
    .thenFails('invalid_client_metadata');
  specFor(clientDecider)([]).when({ type: 'DeleteClient', now: t0 }).then([]);
});

test('clients: client_credentials only for an admin client bound to a service user; never added by an update', () => {
  const machine = {
    clientName: 'm',
    redirectUris: [],
    grantTypes: ['client_credentials' as const],
    tokenEndpointAuthMethod: 'client_secret_basic' as const,
    applicationType: 'web' as const,
  };
  const register = { type: 'RegisterClient' as const, clientId: 'c', metadata: machine, secretHash: 's#', now: t0 };
  specFor(clientDecider)([])
    .when({ ...register, source: 'dynamic', serviceUserId: 'u1' })
    .thenFails('invalid_client_metadata');
  specFor(clientDecider)([])
    .when({ ...register, source: 'admin' })
    .thenFails('invalid_client_metadata');
  specFor(clientDecider)([])
    .when({ ...register, source: 'admin', serviceUserId: 'u1' })
    .then([
      {
        type: 'ClientRegistered',
        data: {
          ...machine,
          clientId: 'c',
          source: 'admin',
          secretHash: 's#',
          serviceUserId: 'u1',
          at: t0.toISOString(),
        },
      },
    ]);
  const web = { ...machine, redirectUris: ['https://a.example/cb'], grantTypes: ['authorization_code' as const] };
  specFor(clientDecider)([])
    .when({ ...register, metadata: web, source: 'admin', serviceUserId: 'u1' })
    .thenFails('invalid_client_metadata');
  const registered = {
    type: 'ClientRegistered' as const,
    data: { ...web, clientId: 'c', source: 'dynamic' as const, secretHash: 's#', at: t0.toISOString() },
  };
  specFor(clientDecider)([registered])
    .when({
      type: 'UpdateClient',
      metadata: { ...web, grantTypes: ['authorization_code', 'client_credentials'] },
      now: t0,
    })
    .thenFails('invalid_client_metadata');
});

test('upgrade: a ClientCredentialsIssued event without a user still loads (its grant has no user)', () => {
  const old = grantDecider.parse({
    type: 'ClientCredentialsIssued',
    data: {
      grantId,
      clientId: 'c1',
      resource: 'https://as.example/mcp',
      tokens: { ...tokens(1), scopes: ['mcp:tools:read'] },
      at: t0.toISOString(),
    },
  });
  const state = grantDecider.evolve(grantDecider.initialState(), old);
  assert.is(state.status, 'active');
  assert.is(state.status === 'active' ? state.userId : 'x', undefined);
  given([old])
    .when({ type: 'RevokeGrant', reason: 'user_disabled', now: t0 })
    .then([{ type: 'GrantRevoked', data: { grantId, reason: 'user_disabled', at: t0.toISOString() } }]);
});

test('keys: ensure adds only the first key; rotate retires the active one', () => {
  const key = { kid: 'k1', alg: 'ES256' as const, publicJwk: {}, privateJwk: {} };
  const added = { type: 'SigningKeyAdded' as const, data: { ...key, at: t0.toISOString() } };
  specFor(keyDecider)([]).when({ type: 'EnsureSigningKey', key, now: t0 }).then([added]);
  specFor(keyDecider)([added])
    .when({ type: 'EnsureSigningKey', key: { ...key, kid: 'k2' }, now: t0 })
    .then([]);
  specFor(keyDecider)([added])
    .when({ type: 'RotateSigningKey', key: { ...key, kid: 'k2' }, now: t0 })
    .then([
      { type: 'SigningKeyRetired', data: { kid: 'k1', at: t0.toISOString() } },
      { type: 'SigningKeyAdded', data: { ...key, kid: 'k2', at: t0.toISOString() } },
    ]);
});

test.run();
