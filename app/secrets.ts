// One server secret shared by every instance (HMAC for session cookies and CSRF tokens). Created once as
// an event, so a restore from `events export` keeps existing sessions valid. The export therefore holds
// key material: treat backups as secrets (README "Backups").
import { randomBytes } from 'node:crypto';
import { WrongExpectedVersionError, type EventLog } from '../eventstore/port.ts';

const STREAM = 'server-secret';

export const loadServerSecret = async (log: EventLog): Promise<Buffer> => {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const [first] = await log.readStream(STREAM, { maxCount: 1 });
    const stored = (first?.data as { secret?: string } | undefined)?.secret;
    if (stored) return Buffer.from(stored, 'base64url');
    try {
      // no_stream: with several instances starting at once, exactly one secret wins.
      await log.append(
        STREAM,
        [
          {
            type: 'ServerSecretCreated',
            data: { secret: randomBytes(32).toString('base64url') },
            metadata: { actor: { type: 'system', id: 'server' } },
          },
        ],
        {
          expectedVersion: 'no_stream',
        },
      );
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  throw new Error('could not load the server secret');
};
