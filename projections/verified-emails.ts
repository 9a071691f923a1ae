// Read model `verified_emails`: the users whose address an admin marked verified (OIDC Core §5.1
// `email_verified`). Its own table, so adding it rebuilds nothing and the `users` columns stay put.
import { UserEvent } from '../domain/users/index.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import type { Projection, Statement, Tables } from './sql.ts';

export const verifiedEmailsProjection: Projection = {
  name: 'verified_emails',
  version: 1,
  tables: {
    verified_emails: `CREATE TABLE {verified_emails} (
      user_id     uuid PRIMARY KEY,
      verified_at timestamptz NOT NULL
    )`,
  },
  eventTypes: ['UserEmailVerified'],
  toStatements(recorded: RecordedEvent, t: Tables): Statement[] {
    const event = UserEvent.parse(recorded);
    if (event.type !== 'UserEmailVerified') return [];
    // Idempotent: the first verification stays.
    return [
      {
        sql: `INSERT INTO ${t.verified_emails} (user_id, verified_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
        params: [event.data.userId, event.data.at],
        batch: { key: event.data.userId, types: ['uuid', 'timestamptz'] },
      },
    ];
  },
};
