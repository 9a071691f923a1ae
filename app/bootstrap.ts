// On first start, create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, or with a generated
// password that is printed once. Safe with several instances starting together (CreateUser is no_stream).
import { DomainError, SYSTEM } from '../domain/shared.ts';
import type { CoreServices } from './core.ts';
import { generatePassword } from './users.ts';
import { usersProjection } from '../projections/users.ts';

export type Bootstrap =
  { created: false; ignored: string[] } | { created: true; email: string; generatedPassword: string | undefined };

/** ADMIN_EMAIL / ADMIN_PASSWORD only create the first admin; once one exists, say what was not used. */
const ignoredSettings = (config: CoreServices['config'], admins: readonly { email: string }[]): string[] => {
  const ignored: string[] = [];
  if (!admins.some((admin) => admin.email === config.adminEmail))
    ignored.push(`ADMIN_EMAIL (${config.adminEmail}) is ignored: an admin already exists.`);
  if (config.adminPassword !== undefined)
    ignored.push(
      'ADMIN_PASSWORD is ignored: an admin already exists. Change a password with `npx remotemcp users passwd EMAIL`.',
    );
  return ignored;
};

export const bootstrapAdmin = async (
  services: Pick<CoreServices, 'config' | 'users' | 'log' | 'projections'>,
): Promise<Bootstrap> => {
  const { config, users, log, projections } = services;
  await projections.waitFor(await log.headPosition(), { projections: [usersProjection], timeoutMs: 30_000 });
  const all = await users.list();
  const admins = all.filter((user) => user.roles.includes('admin'));
  if (admins.length > 0) return { created: false, ignored: ignoredSettings(config, admins) };
  const password = config.adminPassword ?? generatePassword();
  try {
    await users.create({ email: config.adminEmail, password, name: 'Administrator', roles: ['admin', 'user'] }, SYSTEM);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'user_exists') return { created: false, ignored: [] };
    throw error;
  }
  return { created: true, email: config.adminEmail, generatedPassword: config.adminPassword ? undefined : password };
};
