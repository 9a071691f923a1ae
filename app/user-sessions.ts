// What a password change or a disable does besides the user event itself: every grant of that user is
// revoked (refresh tokens die, the verifier refuses its access tokens) and every signed-in browser of
// that user is ended. One event per grant and per session, each with the actor of the user command, so
// the audit log says who ended them and why. Re-running it finds nothing left to end.
import { browserSessionDecider, browserSessionStream } from '../domain/browser-sessions/index.ts';
import { grantDecider, grantStream } from '../domain/grants/index.ts';
import type { Actor } from '../domain/shared.ts';
import type { Queryable } from '../db/database.ts';
import type { EventLog, GlobalPosition } from '../eventstore/port.ts';
import type { ProjectionRunner } from '../projections/runner.ts';
import { handleCommand } from './handle.ts';
import { activeGrantIdsOfUser } from '../projections/oauth/grants.queries.ts';
import { liveBrowserSessionIdsOfUser } from '../projections/browser-sessions.queries.ts';
import { grantsProjection } from '../projections/oauth/grants.ts';
import { browserSessionsProjection } from '../projections/browser-sessions.ts';

export type CredentialsReset = 'password_changed' | 'user_disabled';

export const endUserSessions = async (
  deps: { log: EventLog; db: Queryable; projections: ProjectionRunner },
  userId: string,
  reason: CredentialsReset,
  actor: Actor,
  now: Date,
): Promise<{ grants: number; sessions: number }> => {
  const grants = await activeGrantIdsOfUser(deps.db, userId);
  const sessions = await liveBrowserSessionIdsOfUser(deps.db, userId, now);
  let last: GlobalPosition | undefined;
  let revoked = 0;
  for (const grant_id of grants) {
    const result = await handleCommand(
      deps.log,
      grantStream(grant_id),
      grantDecider,
      { type: 'RevokeGrant', reason, now },
      { actor },
      10,
    );
    if (result.appended) {
      last = result.appended.position;
      revoked += 1;
    }
  }
  let ended = 0;
  for (const id of sessions) {
    const result = await handleCommand(
      deps.log,
      browserSessionStream(id),
      browserSessionDecider,
      { type: 'End', reason, now },
      { actor },
    );
    if (result.appended) {
      last = result.appended.position;
      ended += 1;
    }
  }
  // Read your writes: once the command returns, this instance refuses what it ended.
  await deps.projections.waitFor(last, { projections: [grantsProjection, browserSessionsProjection] });
  return { grants: revoked, sessions: ended };
};
