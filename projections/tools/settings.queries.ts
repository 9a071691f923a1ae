// Queries on the `tool_settings` read model (toolSettingsProjection in projections/tools/settings.ts).
import type { Queryable } from '../../db/database.ts';

/** Names of the tools an admin switched off. */
export const disabledToolNames = async (db: Queryable): Promise<string[]> =>
  (await db.query<{ name: string }>('SELECT name FROM tool_settings WHERE NOT enabled')).rows.map((row) => row.name);
