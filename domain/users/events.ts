import { z } from 'zod';

// `service`: the user a machine client (client_credentials) acts for. It has no password and never signs in.
export const ROLES = ['admin', 'user', 'service'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const UserEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('UserCreated'),
    data: z.object({
      userId: z.string(),
      email: z.string(),
      name: z.string(),
      /** Empty for a service user: no password verifies against it. */
      passwordHash: z.string(),
      roles: z.array(Role),
      createdAt: z.string(),
    }),
  }),
  z.object({
    type: z.literal('UserDisabled'),
    data: z.object({ userId: z.string(), at: z.string(), reason: z.string().optional() }),
  }),
  z.object({ type: z.literal('UserEnabled'), data: z.object({ userId: z.string(), at: z.string() }) }),
  z.object({
    type: z.literal('UserPasswordChanged'),
    data: z.object({ userId: z.string(), passwordHash: z.string(), at: z.string() }),
  }),
  z.object({
    type: z.literal('UserRolesChanged'),
    data: z.object({ userId: z.string(), roles: z.array(Role), at: z.string() }),
  }),
  // An admin vouched for the address (OIDC Core §5.1 email_verified); the actor is in the metadata.
  z.object({ type: z.literal('UserEmailVerified'), data: z.object({ userId: z.string(), at: z.string() }) }),
  // GDPR Art. 17: the user's data keys are destroyed (domain/personal.ts), so every personal field sealed
  // under them reads as erased from then on; the admin is the actor in the metadata. `keySubjects` names
  // the keys (`user:<id>`, `email:<keyed hash>`), so every instance drops them, and a replay erases them again.
  z.object({
    type: z.literal('UserErased'),
    data: z.object({ userId: z.string(), keySubjects: z.array(z.string()), at: z.string() }),
  }),
]);
export type UserEvent = z.infer<typeof UserEvent>;
