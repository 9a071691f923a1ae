// The encrypting decorator's contract over the memory log and the PostgreSQL adapter (PGlite, and a
// server when TEST_DATABASE_URL is set); test/eventstore/esdb.test.ts runs it over KurrentDB.
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';
import { encryptingContract } from './encrypting-contract.ts';

encryptingContract('memory log, keys in PGlite', async () => {
  const keys = await embeddedDatabase();
  const log = new MemoryEventLog();
  return {
    log,
    keysDb: keys.db,
    async dispose() {
      await log.close();
      await keys.dispose();
    },
  };
}).run();

const postgres = (open: () => Promise<TestDatabase>) => async () => {
  const database = await open();
  const log = new PostgresEventLog(database.db, { pollMs: 50 });
  return {
    log,
    keysDb: database.db,
    async dispose() {
      await log.close();
      await database.dispose();
    },
  };
};

encryptingContract('PostgreSQL on embedded PGlite', postgres(embeddedDatabase)).run();

if (serverUrl()) encryptingContract('PostgreSQL server', postgres(serverDatabase)).run();
else skipSuite('Encrypting decorator contract: PostgreSQL server', 'TEST_DATABASE_URL not set', 7);
