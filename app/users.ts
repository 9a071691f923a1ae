// Application service for users: hashes passwords (argon2id), runs user commands, reads the `users` model.
import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { DomainError, type Actor } from '../domain/shared.ts';
import {
  normalizeEmail,
  userDecider,
  userIdForEmail,
  userStream,
  type Role,
  type UserCommand,
} from '../domain/users/index.ts';
import type { Queryable } from '../db/database.ts';
import type { EventLog } from '../eventstore/port.ts';
import type { PersonalKeyStore } from '../eventstore/personal-keys.ts';
import { mcpSessionDecider, sessionStream } from '../domain/sessions/index.ts';
import type { ProjectionRunner } from '../projections/runner.ts';
import { userByEmail, userById, userStandings, listUsers, type UserRow } from '../projections/users.queries.ts';
import { sessionsValidAfter } from '../projections/user-credentials.queries.ts';
import { isEmailVerified, verifiedUserIds } from '../projections/verified-emails.queries.ts';
import { openSessionIdsOfUser } from '../projections/mcp/sessions.queries.ts';
import { dropUserEmbeddings } from '../projections/tools/embeddings.queries.ts';
import { handleCommand } from './handle.ts';
import { endUserSessions } from './user-sessions.ts';
import { usersProjection } from '../projections/users.ts';
import { userCredentialsProjection } from '../projections/user-credentials.ts';
import { verifiedEmailsProjection } from '../projections/verified-emails.ts';
import { RecentUsers } from './recent-users.ts';
import { BatchedReads } from './batched-reads.ts';

// OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1 (the library's algorithm 2 = argon2id).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);
export const checkPassword = (passwordHash: string, password: string): Promise<boolean> =>
  verify(passwordHash, password).catch(() => false);

export const MIN_PASSWORD = 8;
export const generatePassword = (): string => randomBytes(18).toString('base64url');

export type { UserRow } from '../projections/users.queries.ts';

/** A user with what decides whether its grants still stand, and whether its address is verified. */
export type UserStanding = UserRow & { sessionsValidAfter: Date | undefined; emailVerified: boolean };

export class Users {
  private readonly recentRows: RecentUsers<UserRow>;

  constructor(
    private readonly log: EventLog,
    private readonly db: Queryable,
    private readonly projections: ProjectionRunner,
    /** The data keys of personal fields (eventstore/personal-keys.ts); `erase` destroys a user's. */
    private readonly keys?: PersonalKeyStore,
    /** This process's appends ('append', stream): a change to a user here drops its cached row at once. */
    appends?: EventEmitter,
  ) {
    this.recentRows = new RecentUsers((id) => this.byId(id), appends);
    this.standings = new BatchedReads(async (ids) => {
      const rows = await userStandings(this.db, ids);
      return new Map(rows.map((row) => [row.id, row]));
    });
  }

  /** Standings asked by concurrent token requests go out in one read (app/batched-reads.ts). */
  private readonly standings: BatchedReads<Awaited<ReturnType<typeof userStandings>>[number]>;

  private get deps() {
    return { log: this.log, db: this.db, projections: this.projections };
  }

  private async run(email: string, command: UserCommand, actor: Actor) {
    const result = await handleCommand(this.log, userStream(userIdForEmail(email)), userDecider, command, { actor });
    // Read your own writes: the caller sees the read model include this command.
    await this.projections.waitFor(result.appended?.position, {
      projections: [usersProjection, userCredentialsProjection, verifiedEmailsProjection],
    });
    return result;
  }

  async create(
    input: { email: string; password: string; name?: string; roles?: Role[] },
    actor: Actor,
    now = new Date(),
  ) {
    if (input.password.length < MIN_PASSWORD)
      throw new DomainError('weak_password', `password must be at least ${MIN_PASSWORD} characters`);
    const email = normalizeEmail(input.email);
    const userId = userIdForEmail(email);
    const passwordHash = await hashPassword(input.password);
    await this.run(
      email,
      {
        type: 'CreateUser',
        userId,
        email,
        name: input.name ?? email.split('@')[0] ?? email,
        passwordHash,
        roles: input.roles ?? ['user'],
        now,
      },
      actor,
    );
    return userId;
  }

  /**
   * The user a machine client acts for: role `service`, no password (nothing verifies against an empty
   * hash), so it can never sign in. Returns the existing one when `email` already names a service user;
   * a person's account is refused (binding a machine to it would let the machine act as that person).
   */
  async ensureServiceUser(
    input: { email: string; name?: string },
    actor: Actor,
    now = new Date(),
  ): Promise<{ user: UserRow; created: boolean }> {
    const email = normalizeEmail(input.email);
    const existing = await this.byEmail(email);
    if (existing) {
      if (!existing.roles.includes('service'))
        throw new DomainError('not_a_service_user', `${email} is a person's account, not a service user`);
      if (existing.status !== 'active') throw new DomainError('user_disabled', `the service user ${email} is disabled`);
      return { user: existing, created: false };
    }
    await this.run(
      email,
      {
        type: 'CreateUser',
        userId: userIdForEmail(email),
        email,
        name: input.name ?? email.split('@')[0] ?? email,
        passwordHash: '',
        roles: ['service'],
        now,
      },
      actor,
    );
    const user = await this.byEmail(email);
    if (!user) throw new Error('service user not projected');
    return { user, created: true };
  }

  /**
   * Disabling ends every session and grant of the user (tokens issued before stay dead after an enable).
   * The sweep runs on a re-run too, so a command cut short between the two is finished by repeating it.
   */
  async disable(email: string, actor: Actor, now = new Date()) {
    const result = await this.run(normalizeEmail(email), { type: 'DisableUser', now }, actor);
    if (result.state.status !== 'absent')
      await endUserSessions(this.deps, result.state.userId, 'user_disabled', actor, now);
    return result.events.length > 0;
  }

  /**
   * GDPR Art. 17: the user's data keys are destroyed, so their personal fields (address, name, memory,
   * tool arguments, MCP messages, sign-in addresses) read as erased everywhere, exports and restored
   * backups included; ids, times and outcomes stay. Every grant, browser session and MCP session of the
   * user ends. A re-run finds the user erased and finishes the sweep (keys, sessions) if it was cut short.
   */
  async erase(
    email: string,
    actor: Actor,
    now = new Date(),
  ): Promise<{ erased: boolean; keys: number; grants: number; sessions: number; mcpSessions: number }> {
    if (!this.keys) throw new Error('erasing needs the personal data key store');
    const normalized = normalizeEmail(email);
    const userId = userIdForEmail(normalized);
    if (!(await this.byEmail(normalized)) && !(await this.byId(userId)))
      throw new DomainError('user_not_found', 'no such user');
    const keySubjects = [`user:${userId}`, await this.keys.emailSubject(normalized)];
    // Keys first: once they are gone the data is, whatever happens next; the event records it (and a
    // re-run after a failure here finds the user not yet erased and appends it).
    const keys = await this.keys.erase(keySubjects, now);
    const result = await this.run(normalized, { type: 'EraseUser', keySubjects, now }, actor);
    const ended = await endUserSessions(this.deps, userId, 'user_disabled', actor, now);
    let mcpSessions = 0;
    for (const id of await openSessionIdsOfUser(this.db, userId)) {
      const closed = await handleCommand(
        this.log,
        sessionStream(id),
        mcpSessionDecider,
        { type: 'CloseSession', reason: 'ended_by_admin', endedBy: { id: actor.id }, now },
        { actor },
      );
      mcpSessions += closed.events.length > 0 ? 1 : 0;
    }
    // Vectors and text hashes derived from her notes: a cache outside the log, so no key covers them.
    // (Each instance's vector index drops her vectors, and their file on disk, when it reads the event.)
    await dropUserEmbeddings(this.db, userId);
    return { erased: result.events.length > 0, keys, ...ended, mcpSessions };
  }

  async enable(email: string, actor: Actor, now = new Date()) {
    return (await this.run(normalizeEmail(email), { type: 'EnableUser', now }, actor)).events.length > 0;
  }

  async changePassword(email: string, password: string, actor: Actor, now = new Date()) {
    if (password.length < MIN_PASSWORD)
      throw new DomainError('weak_password', `password must be at least ${MIN_PASSWORD} characters`);
    const result = await this.run(
      normalizeEmail(email),
      { type: 'ChangePassword', passwordHash: await hashPassword(password), now },
      actor,
    );
    // Whoever held the old password (or a token or cookie it won) is out: every session and grant ends.
    if (result.state.status !== 'absent')
      await endUserSessions(this.deps, result.state.userId, 'password_changed', actor, now);
  }

  /** Sessions, grants and tokens of the user begun before this instant are void (user_credentials). */
  async sessionsValidAfter(userId: string): Promise<Date | undefined> {
    return sessionsValidAfter(this.db, userId);
  }

  async setRoles(email: string, roles: Role[], actor: Actor, now = new Date()) {
    await this.run(normalizeEmail(email), { type: 'SetRoles', roles, now }, actor);
  }

  /** An admin vouches for the address (OIDC `email_verified: true` from then on). False when it already was. */
  async verifyEmail(email: string, actor: Actor, now = new Date()): Promise<boolean> {
    return (await this.run(normalizeEmail(email), { type: 'VerifyEmail', now }, actor)).events.length > 0;
  }

  async emailVerified(userId: string): Promise<boolean> {
    return isEmailVerified(this.db, userId);
  }

  /** The ids of users with a verified address (the admin users page). */
  async verifiedUserIds(): Promise<Set<string>> {
    return new Set(await verifiedUserIds(this.db));
  }

  async list(): Promise<UserRow[]> {
    return listUsers(this.db);
  }

  async byEmail(email: string): Promise<UserRow | undefined> {
    return userByEmail(this.db, normalizeEmail(email));
  }

  async byId(id: string): Promise<UserRow | undefined> {
    return userById(this.db, id);
  }

  /**
   * byId through a short cache (app/recent-users.ts), for lookups on the path of every tool call. Not
   * for decisions that must see a change made elsewhere at once (sign-in, token issue: use byId).
   */
  recent(id: string): Promise<UserRow | undefined> {
    return this.recentRows.get(id);
  }

  /** byId, sessionsValidAfter and emailVerified in one query. */
  async standing(id: string): Promise<UserStanding | undefined> {
    const row = await this.standings.get(id.toLowerCase());
    if (!row) return undefined;
    const { sessions_valid_after, email_verified, ...user } = row;
    return { ...user, sessionsValidAfter: sessions_valid_after ?? undefined, emailVerified: email_verified };
  }

  /** The user when the password matches an active account; undefined otherwise (same cost either way). */
  async authenticate(email: string, password: string): Promise<UserRow | undefined> {
    const user = await this.byEmail(email);
    // Verify against a dummy hash for unknown emails so timing does not reveal which accounts exist.
    const ok = await checkPassword(user?.password_hash || (await dummyHash()), password);
    // A service user never signs in (it has no password; this holds even if a hash were ever set).
    return ok && user && user.status === 'active' && !user.roles.includes('service') ? user : undefined;
  }
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword(randomBytes(16).toString('hex')));
