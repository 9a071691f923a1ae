// SPEC: on first start, create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, or with a generated
// password that is printed once. Safe with several instances starting together (CreateUser is no_stream).
import { DomainError, SYSTEM } from '../domain/shared.ts';
import type { Services } from './services.ts';
import { generatePassword } from './users.ts';

export type Bootstrap = { created: false } | { created: true; email: string; generatedPassword: string | undefined };

export const bootstrapAdmin = async (services: Services): Promise<Bootstrap> => {
  const { config, users, log, projections } = services;
  await projections.waitFor(await log.headPosition(), { names: ['users'], timeoutMs: 30_000 });
  const all = await users.list();
  if (all.some((user) => user.roles.includes('admin'))) return { created: false };
  const password = config.adminPassword ?? generatePassword();
  try {
    await users.create({ email: config.adminEmail, password, name: 'Administrator', roles: ['admin', 'user'] }, SYSTEM);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'user_exists') return { created: false };
    throw error;
  }
  return { created: true, email: config.adminEmail, generatedPassword: config.adminPassword ? undefined : password };
};
