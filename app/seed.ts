// `remotemcp seed` and SEED_DEMO_DATA=true: demo data to try the server with. Idempotent.
import { SYSTEM } from '../domain/shared.ts';
import type { Services } from './services.ts';

export const DEMO_EMAIL = 'demo@localhost';
export const DEMO_PASSWORD = 'demo-password';

export const seedDemoData = async (services: Services): Promise<string[]> => {
  const lines: string[] = [];
  if (await services.users.byEmail(DEMO_EMAIL)) lines.push(`demo user ${DEMO_EMAIL} already exists`);
  else {
    await services.users.create({ email: DEMO_EMAIL, password: DEMO_PASSWORD, name: 'Demo User', roles: ['user'] }, SYSTEM);
    lines.push(`created demo user ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
  }
  return lines;
};
