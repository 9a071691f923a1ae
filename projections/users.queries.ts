// Queries on the `users` read model (projections/users.ts writes it): its row type and every read of it.
import { prepared, type Queryable } from '../db/database.ts';
import type { Role } from '../domain/users/index.ts';

export type UserRow = {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  roles: Role[];
  status: 'active' | 'disabled' | 'erased';
  created_at: Date;
  updated_at: Date;
};

// Prepared (every tool call that names its user looks it up); explicit columns, so a column added by a
// later migration cannot change a prepared statement's result type under a running instance.
const USER_COLUMNS = 'id, email, name, password_hash, roles, status, created_at, updated_at';
const BY_ID = prepared(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`);
const BY_EMAIL = prepared(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`);
// The token endpoint asks all three on every grant: one round trip instead of three.
const STANDING = prepared(`SELECT ${USER_COLUMNS}, c.sessions_valid_after, v.user_id IS NOT NULL AS email_verified
  FROM users u LEFT JOIN user_credentials c ON c.user_id = u.id LEFT JOIN verified_emails v ON v.user_id = u.id
  WHERE u.id = $1`);

const STANDINGS = prepared(`SELECT ${USER_COLUMNS}, c.sessions_valid_after, v.user_id IS NOT NULL AS email_verified
  FROM users u LEFT JOIN user_credentials c ON c.user_id = u.id LEFT JOIN verified_emails v ON v.user_id = u.id
  WHERE u.id = ANY($1::uuid[])`);

export type UserStandingRow = UserRow & { sessions_valid_after: Date | null; email_verified: boolean };

export const userById = async (db: Queryable, id: string): Promise<UserRow | undefined> =>
  (await db.query<UserRow>(BY_ID, [id])).rows[0];

/** `email` already normalized. */
export const userByEmail = async (db: Queryable, email: string): Promise<UserRow | undefined> =>
  (await db.query<UserRow>(BY_EMAIL, [email])).rows[0];

/** The user with its `user_credentials` and `verified_emails` rows, in one round trip. */
export const userStanding = async (db: Queryable, id: string): Promise<UserStandingRow | undefined> =>
  (await db.query<UserStandingRow>(STANDING, [id])).rows[0];

/** userStanding for several ids in one round trip (ids that are not UUIDs name no user). */
export const userStandings = async (db: Queryable, ids: readonly string[]): Promise<UserStandingRow[]> => {
  const valid = ids.filter((id) => UUID.test(id));
  return valid.length === 0 ? [] : (await db.query<UserStandingRow>(STANDINGS, [valid])).rows;
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const listUsers = async (db: Queryable): Promise<UserRow[]> =>
  (await db.query<UserRow>('SELECT * FROM users ORDER BY created_at, email')).rows;
