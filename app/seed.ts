// `remotemcp seed` and SEED_DEMO_DATA=true: demo data to try the server with. Idempotent.
import { SYSTEM } from '../domain/shared.ts';
import type { CoreServices } from './core.ts';
import type { OAuth } from './oauth/index.ts';

export const DEMO_EMAIL = 'demo@localhost';
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_CLIENT_NAME = 'Demo client (seed)';

const NOTES = [
  {
    title: 'Welcome to RemoteMCP',
    content: 'Memories are stored as events and searchable with PostgreSQL full-text search.',
    tags: ['demo', 'welcome'],
  },
  {
    title: 'Favourite editor',
    content: 'The demo user prefers short answers and uses Vim keybindings.',
    tags: ['demo', 'preferences'],
  },
  {
    title: 'Project deadline',
    content: 'The quarterly report is due on the last Friday of the month.',
    tags: ['demo', 'work'],
  },
];

/** Where the demo memories go: the memory tool's store (given by the caller, app/ does not import mcp/). */
export type DemoNotes = {
  listNotes(userId: string, options: { tags: string[]; limit: number }): Promise<{ title: string }[]>;
  storeNote(userId: string, note: { title: string; content: string; tags: string[] }): Promise<unknown>;
};

export type SeedDeps = Pick<CoreServices, 'users'> & {
  oauth: Pick<OAuth, 'clients' | 'createConfidentialClient'>;
  notes: DemoNotes;
};

export const seedDemoData = async (services: SeedDeps): Promise<string[]> => {
  const lines: string[] = [];
  let demo = await services.users.byEmail(DEMO_EMAIL);
  if (demo) lines.push(`demo user ${DEMO_EMAIL} already exists`);
  else {
    await services.users.create(
      { email: DEMO_EMAIL, password: DEMO_PASSWORD, name: 'Demo User', roles: ['user'] },
      SYSTEM,
    );
    demo = await services.users.byEmail(DEMO_EMAIL);
    lines.push(`created demo user ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
  }
  const clients = await services.oauth.clients.list();
  if (clients.some((client) => client.client_name === DEMO_CLIENT_NAME && client.status === 'active'))
    lines.push('demo client already exists');
  else {
    const created = await services.oauth.createConfidentialClient(
      { name: DEMO_CLIENT_NAME, redirectUris: ['http://127.0.0.1:8976/callback'] },
      SYSTEM,
    );
    lines.push(
      `created demo client ${created.client.clientId} with secret ${created.clientSecret ?? '(none)'} (shown once)`,
    );
  }
  const existing = await services.notes.listNotes(demo!.id, { tags: ['demo'], limit: 50 });
  const missing = NOTES.filter((note) => !existing.some((e) => e.title === note.title));
  for (const note of missing) await services.notes.storeNote(demo!.id, note);
  lines.push(missing.length ? `stored ${missing.length} demo memories` : 'demo memories already exist');
  return lines;
};
