// Client metadata for RP-Initiated Logout: post_logout_redirect_uris is optional (old events load),
// validated like redirect_uris, and replaced (or dropped) by an RFC 7592 update.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientDecider, type ClientEvent, type ClientMetadata } from '../../../domain/clients/index.ts';
import { specFor } from '../../support/decider.ts';

const test = suite('domain: oauth clients (post-logout redirect URIs)');
const given = specFor(clientDecider);
const now = new Date('2026-01-01T00:00:00Z');
const metadata: ClientMetadata = {
  clientName: 'App',
  redirectUris: ['https://app.example/cb'],
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'none',
  applicationType: 'web',
};
// A ClientRegistered event as written before logout existed: no postLogoutRedirectUris.
const oldRegistered = {
  type: 'ClientRegistered',
  data: { ...metadata, clientId: 'c1', source: 'dynamic', at: now.toISOString() },
};

test('an old ClientRegistered event loads; the client has no post-logout URIs', () => {
  const state = clientDecider.evolve(clientDecider.initialState(), clientDecider.parse(oldRegistered));
  assert.is(state.status, 'active');
  assert.is(state.status === 'active' ? state.postLogoutRedirectUris : 'x', undefined);
});

test('register: post-logout URIs obey the redirect URI rules (invalid_client_metadata)', () => {
  for (const uri of ['http://app.example/bye', 'https://app.example/bye#x', 'javascript:alert(1)', 'relative'])
    given([])
      .when({
        type: 'RegisterClient',
        clientId: 'c1',
        metadata: { ...metadata, postLogoutRedirectUris: [uri] },
        source: 'dynamic',
        now,
      })
      .thenFails('invalid_client_metadata');
});

test('update replaces the list; leaving it out drops it', () => {
  const withLogout: ClientEvent = {
    type: 'ClientRegistered',
    data: {
      ...metadata,
      postLogoutRedirectUris: ['https://app.example/bye'],
      clientId: 'c1',
      source: 'dynamic',
      at: now.toISOString(),
    },
  };
  const updated = clientDecider.decide(
    { type: 'UpdateClient', metadata, now },
    clientDecider.evolve(clientDecider.initialState(), withLogout),
  );
  const state = updated.reduce(clientDecider.evolve, clientDecider.evolve(clientDecider.initialState(), withLogout));
  assert.is(state.status === 'active' ? state.postLogoutRedirectUris : 'x', undefined);
});

test.run();
