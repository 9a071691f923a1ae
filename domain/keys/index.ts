// Signing keys: one stream for the whole server. The newest added key signs; retired keys stay
// published in the JWKS until the tokens they signed have expired (app/oauth/keys.ts).
import { assertNever, type Decider } from '../shared.ts';
import { KeyEvent } from './events.ts';

export { KeyEvent } from './events.ts';

export const KEYS_STREAM = 'oauth-keys';

export type SigningKey = {
  readonly kid: string;
  readonly alg: 'ES256';
  readonly publicJwk: Record<string, unknown>;
  readonly privateJwk: Record<string, unknown>;
  readonly addedAt: string;
  readonly retiredAt?: string;
};

export type KeyState = { readonly keys: readonly SigningKey[] };

export type KeyCommand =
  /** Adds `key` only when there is no active key (first start; safe for several instances at once). */
  | { type: 'EnsureSigningKey'; key: Omit<SigningKey, 'addedAt' | 'retiredAt'>; now: Date }
  /** Adds `key` and retires the active one. */
  | { type: 'RotateSigningKey'; key: Omit<SigningKey, 'addedAt' | 'retiredAt'>; now: Date };

export const activeKey = (state: KeyState): SigningKey | undefined =>
  state.keys.find((key) => key.retiredAt === undefined);

export const decideKeys = (command: KeyCommand, state: KeyState): KeyEvent[] => {
  const at = command.now.toISOString();
  const added: KeyEvent = { type: 'SigningKeyAdded', data: { ...command.key, at } };
  const active = activeKey(state);
  switch (command.type) {
    case 'EnsureSigningKey':
      return active ? [] : [added];
    case 'RotateSigningKey':
      return active ? [{ type: 'SigningKeyRetired', data: { kid: active.kid, at } }, added] : [added];
    default:
      return assertNever(command);
  }
};

export const evolveKeys = (state: KeyState, event: KeyEvent): KeyState => {
  switch (event.type) {
    case 'SigningKeyAdded': {
      const { at, ...key } = event.data;
      return { keys: [...state.keys, { ...key, addedAt: at }] };
    }
    case 'SigningKeyRetired':
      return {
        keys: state.keys.map((key) => (key.kid === event.data.kid ? { ...key, retiredAt: event.data.at } : key)),
      };
    default:
      return assertNever(event);
  }
};

export const keyDecider: Decider<KeyCommand, KeyEvent, KeyState> = {
  initialState: () => ({ keys: [] }),
  decide: decideKeys,
  evolve: evolveKeys,
  parse: (event) => KeyEvent.parse(event),
};
