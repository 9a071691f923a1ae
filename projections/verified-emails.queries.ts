// Queries on the `verified_emails` read model (projections/verified-emails.ts writes it).
import type { Queryable } from '../db/database.ts';

export const isEmailVerified = async (db: Queryable, userId: string): Promise<boolean> =>
  (await db.query('SELECT 1 FROM verified_emails WHERE user_id = $1::uuid', [userId])).rows.length > 0;

export const verifiedUserIds = async (db: Queryable): Promise<string[]> =>
  (await db.query<{ user_id: string }>('SELECT user_id FROM verified_emails')).rows.map((row) => row.user_id);
