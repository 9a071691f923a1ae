import { z } from 'zod';

const Jwk = z.record(z.string(), z.unknown());

// Key material is stored in the event itself (so every instance and every restart signs with the same
// key). Consequence, documented in README: `events export` output contains private signing keys.
export const KeyEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('SigningKeyAdded'),
    data: z.object({ kid: z.string(), alg: z.literal('ES256'), publicJwk: Jwk, privateJwk: Jwk, at: z.string() }),
  }),
  z.object({ type: z.literal('SigningKeyRetired'), data: z.object({ kid: z.string(), at: z.string() }) }),
]);
export type KeyEvent = z.infer<typeof KeyEvent>;
