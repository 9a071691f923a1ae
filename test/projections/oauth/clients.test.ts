// oauth_clients: registration inserts once, every later change applies only over an older revision,
// so the events applied twice (or an old one late, alone) leave the same rows.
import * as assert from 'uvu/assert';
import { ClientEvent, clientStream } from '../../../domain/clients/index.ts';
import { clientsProjection } from '../../../projections/oauth/clients.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: oauth_clients');

test('registered, updated, made a resource server and deleted, applied twice', async ({ database }) => {
  const record = recorder(ClientEvent);
  const events = [
    record(clientStream('web-1'), {
      type: 'ClientRegistered',
      data: {
        clientId: 'web-1',
        clientName: 'Notes app',
        redirectUris: ['https://notes.example/cb'],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'none',
        applicationType: 'web',
        source: 'dynamic',
        registrationTokenHash: 'rat-sha256',
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(clientStream('machine-1'), {
      type: 'ClientRegistered',
      data: {
        clientId: 'machine-1',
        clientName: 'Nightly job',
        redirectUris: [],
        grantTypes: ['client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        applicationType: 'web',
        scope: 'mcp:tools:read',
        source: 'admin',
        secretHash: 'secret-sha256',
        serviceUserId: '7c1d2e3f-4a5b-5c6d-8e7f-9a0b1c2d3e4f',
        at: '2026-01-01T00:01:00.000Z',
      },
    }),
    record(clientStream('web-1'), {
      type: 'ClientUpdated',
      data: {
        clientId: 'web-1',
        clientName: 'Notes',
        redirectUris: ['https://notes.example/cb', 'http://127.0.0.1/cb'],
        grantTypes: ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'none',
        applicationType: 'native',
        scope: 'mcp:tools:read mcp:tools:write',
        postLogoutRedirectUris: ['https://notes.example/bye'],
        at: '2026-01-02T00:00:00.000Z',
      },
    }),
    record(clientStream('machine-1'), {
      type: 'ClientResourceServerSet',
      data: { clientId: 'machine-1', resourceServer: true, at: '2026-01-03T00:00:00.000Z' },
    }),
    record(clientStream('web-1'), {
      type: 'ClientDeleted',
      data: { clientId: 'web-1', reason: 'idle', at: '2026-01-04T00:00:00.000Z' },
    }),
  ];
  const rows = await applyTwice(database.db, clientsProjection, events, { oauth_clients: 'client_id' });
  assert.equal(rows.oauth_clients, [
    {
      client_id: 'machine-1',
      client_name: 'Nightly job',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      auth_method: 'client_secret_basic',
      application_type: 'web',
      scope: 'mcp:tools:read',
      source: 'admin',
      status: 'active',
      resource_server: true,
      created_at: '2026-01-01T00:01:00.000Z',
      updated_at: '2026-01-03T00:00:00.000Z',
      revision: '1',
    },
    {
      client_id: 'web-1',
      client_name: 'Notes',
      redirect_uris: ['https://notes.example/cb', 'http://127.0.0.1/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      auth_method: 'none',
      application_type: 'native',
      scope: 'mcp:tools:read mcp:tools:write',
      source: 'dynamic',
      status: 'deleted',
      resource_server: false,
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-04T00:00:00.000Z',
      revision: '2',
    },
  ]);
});

test.run();
