// Read model `user_credentials`: per user, the instant before which every session, grant and token of
// that user is void (its last password change or disable). Enabling the user again does not move it, so
// nothing issued before a disable comes back. The revocation events that follow such a command say the
// same thing token by token; this line also covers what they cannot reach (a code not yet redeemed) and
// a crash between the user command and its consequences.
import { UserEvent } from '../domain/users/index.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import type { Projection, Statement, Tables } from './sql.ts';

export const userCredentialsProjection: Projection = {
  name: 'user_credentials',
  version: 1,
  tables: {
    user_credentials: `CREATE TABLE {user_credentials} (
      user_id              uuid PRIMARY KEY,
      sessions_valid_after timestamptz NOT NULL
    )`,
  },
  eventTypes: ['UserPasswordChanged', 'UserDisabled'],
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = UserEvent.parse(recorded);
    if (event.type !== 'UserPasswordChanged' && event.type !== 'UserDisabled') return [];
    // Idempotent and order-proof: the latest instant wins.
    return [
      {
        sql: `INSERT INTO ${t.user_credentials} (user_id, sessions_valid_after) VALUES ($1, $2)
              ON CONFLICT (user_id) DO UPDATE SET sessions_valid_after = GREATEST(${t.user_credentials}.sessions_valid_after, EXCLUDED.sessions_valid_after)`,
        params: [event.data.userId, event.data.at],
        batch: { key: event.data.userId, types: ['uuid', 'timestamptz'] },
      },
    ];
  },
};
