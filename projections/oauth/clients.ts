// Read model `oauth_clients`: registered clients for listing (CLI, admin). The OAuth endpoints read
// the client's own stream instead (strongly consistent right after registration).
import { ClientEvent } from '../../domain/clients/index.ts';
import { assertNever } from '../../domain/shared.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import type { Projection, Statement, Tables } from '../sql.ts';

export const clientsProjection: Projection = {
  name: 'oauth_clients',
  version: 2,
  tables: {
    oauth_clients: `CREATE TABLE {oauth_clients} (
      client_id     text PRIMARY KEY,
      client_name   text NOT NULL,
      redirect_uris text[] NOT NULL,
      grant_types   text[] NOT NULL,
      auth_method   text NOT NULL,
      application_type text NOT NULL,
      scope         text,
      source        text NOT NULL,
      status        text NOT NULL,
      resource_server boolean NOT NULL DEFAULT false,
      created_at    timestamptz NOT NULL,
      updated_at    timestamptz NOT NULL,
      revision      bigint NOT NULL
    )`,
  },
  eventTypes: ClientEvent.options.map((option) => option.shape.type.value),
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = ClientEvent.parse(recorded);
    const revision = String(recorded.revision);
    const d = event.data;
    switch (event.type) {
      case 'ClientRegistered':
        return [
          {
            sql: `INSERT INTO ${t.oauth_clients} (client_id, client_name, redirect_uris, grant_types, auth_method, application_type, scope, source, status, created_at, updated_at, revision)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9, $10) ON CONFLICT (client_id) DO NOTHING`,
            params: [
              d.clientId,
              event.data.clientName,
              event.data.redirectUris,
              event.data.grantTypes,
              event.data.tokenEndpointAuthMethod,
              event.data.applicationType,
              event.data.scope ?? null,
              event.data.source,
              d.at,
              revision,
            ],
            batch: {
              key: d.clientId,
              types: ['text', 'text', 'text[]', 'text[]', 'text', 'text', 'text', 'text', 'timestamptz', 'bigint'],
            },
          },
        ];
      case 'ClientUpdated':
        return [
          {
            sql: `UPDATE ${t.oauth_clients} SET client_name = $2, redirect_uris = $3, grant_types = $4, auth_method = $5, application_type = $6, scope = $7, updated_at = $8, revision = $9
                  WHERE client_id = $1 AND revision < $9`,
            params: [
              d.clientId,
              event.data.clientName,
              event.data.redirectUris,
              event.data.grantTypes,
              event.data.tokenEndpointAuthMethod,
              event.data.applicationType,
              event.data.scope ?? null,
              d.at,
              revision,
            ],
            batch: {
              key: d.clientId,
              types: ['text', 'text', 'text[]', 'text[]', 'text', 'text', 'text', 'timestamptz', 'bigint'],
            },
          },
        ];
      case 'ClientDeleted':
        return [
          {
            sql: `UPDATE ${t.oauth_clients} SET status = 'deleted', updated_at = $2, revision = $3 WHERE client_id = $1 AND revision < $3`,
            params: [d.clientId, d.at, revision],
            batch: { key: d.clientId, types: ['text', 'timestamptz', 'bigint'] },
          },
        ];
      case 'ClientResourceServerSet':
        return [
          {
            sql: `UPDATE ${t.oauth_clients} SET resource_server = $2, updated_at = $3, revision = $4 WHERE client_id = $1 AND revision < $4`,
            params: [d.clientId, event.data.resourceServer, d.at, revision],
            batch: { key: d.clientId, types: ['text', 'boolean', 'timestamptz', 'bigint'] },
          },
        ];
      default:
        return assertNever(event);
    }
  },
};
