// Read model `users`: one row per user, for login lookups, the CLI and the admin panel.
import { UserEvent } from '../domain/users/index.ts';
import { assertNever } from '../domain/shared.ts';
import { ERASED, ERASED_USER, erasedEmail } from '../domain/personal.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import type { Projection, Statement, Tables } from './sql.ts';

const TYPES = UserEvent.options.map((option) => option.shape.type.value);

export const usersProjection: Projection = {
  name: 'users',
  version: 1,
  tables: {
    users: `CREATE TABLE {users} (
      id            uuid PRIMARY KEY,
      email         text NOT NULL UNIQUE,
      name          text NOT NULL,
      password_hash text NOT NULL,
      roles         text[] NOT NULL,
      status        text NOT NULL,
      created_at    timestamptz NOT NULL,
      updated_at    timestamptz NOT NULL,
      revision      bigint NOT NULL
    )`,
  },
  eventTypes: TYPES,
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = UserEvent.parse(recorded);
    const revision = String(recorded.revision);
    // Idempotent: every update only applies an event newer than the row (revision guard).
    const update = (set: string, params: unknown[], types: string[] = []): Statement => ({
      sql: `UPDATE ${t.users} SET ${set}, updated_at = $2, revision = $3 WHERE id = $1 AND revision < $3`,
      params: [event.data.userId, 'at' in event.data ? event.data.at : recorded.createdAt, revision, ...params],
      batch: { key: event.data.userId, types: ['uuid', 'timestamptz', 'bigint', ...types] },
    });
    switch (event.type) {
      case 'UserCreated': {
        // Read after an erasure, the address and name are placeholders: the row shows the erased user (an
        // address unique to the id, as the column requires), the same as the live UserErased leaves it.
        const erased = event.data.email === ERASED;
        return [
          {
            sql: `INSERT INTO ${t.users} (id, email, name, password_hash, roles, status, created_at, updated_at, revision)
                  VALUES ($1, $2, $3, $4, $5, 'active', $6, $6, $7) ON CONFLICT (id) DO NOTHING`,
            params: [
              event.data.userId,
              erased ? erasedEmail(event.data.userId) : event.data.email,
              erased ? ERASED_USER : event.data.name,
              event.data.passwordHash,
              event.data.roles,
              event.data.createdAt,
              revision,
            ],
            batch: {
              key: event.data.userId,
              types: ['uuid', 'text', 'text', 'text', 'text[]', 'timestamptz', 'bigint'],
            },
          },
        ];
      }
      case 'UserDisabled':
        return [update(`status = 'disabled'`, [])];
      case 'UserEnabled':
        return [update(`status = 'active'`, [])];
      case 'UserPasswordChanged':
        return [update('password_hash = $4', [event.data.passwordHash], ['text'])];
      case 'UserRolesChanged':
        return [update('roles = $4', [event.data.roles], ['text[]'])];
      // Kept in its own read model (projections/verified-emails.ts), so this table's shape stays as it was.
      case 'UserEmailVerified':
        return [];
      case 'UserErased':
        return [
          update(
            `status = 'erased', email = $4, name = $5, password_hash = ''`,
            [erasedEmail(event.data.userId), ERASED_USER],
            ['text', 'text'],
          ),
        ];
      default:
        return assertNever(event);
    }
  },
};
