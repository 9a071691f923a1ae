// Queries on the `user_credentials` read model (projections/user-credentials.ts writes it).
import type { Queryable } from '../db/database.ts';

/** The instant before which the user's sessions, grants and tokens are void; undefined if none. */
export const sessionsValidAfter = async (db: Queryable, userId: string): Promise<Date | undefined> =>
  (
    await db.query<{ sessions_valid_after: Date }>(
      'SELECT sessions_valid_after FROM user_credentials WHERE user_id = $1::uuid',
      [userId],
    )
  ).rows[0]?.sessions_valid_after;
