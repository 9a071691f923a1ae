// bench/encryption: what sealing personal fields costs, on embedded PGlite and (when TEST_DATABASE_URL is
// set) a PostgreSQL server (bench/encryption-cost.ts says how):
// - append: a memory note per command (as memory_store writes it), one writer;
// - append: MCP messages through the group commit, 8 sessions at once (as bench/mcp's calls store them);
// - replay: readAll of every event in pages of 1,000, without looking at the data (sealed fields are
//   opened on first read), through every projection's toStatements (what a rebuild reads), and reading
//   every field of every event;
// - rebuild: every real projection over the realistic mix, PostgreSQL's writes included (the replay an
//   operator runs), plain and sealed logs in turns.
// Each row gives node's CPU per event and, on the server, its backends' (what sealing costs in all).
// Run: node --max-semi-space-size=64 --import tsx bench/encryption.ts [rounds=3] [rebuild events=50000]
import { embeddedDatabase, serverDatabase, serverUrl } from '../test/support/databases.ts';
import { encryptionCost, printEncryptionCost, rebuildCost } from './encryption-cost.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const REBUILD_EVENTS = Number(process.argv[3] ?? 50_000);
const rows = [
  ...(await encryptionCost('PGlite', embeddedDatabase, ROUNDS)),
  ...(await rebuildCost('PGlite', embeddedDatabase, ROUNDS, REBUILD_EVENTS)),
  ...(serverUrl() ? await encryptionCost('PostgreSQL', serverDatabase, ROUNDS) : []),
  ...(serverUrl() ? await rebuildCost('PostgreSQL', serverDatabase, ROUNDS, REBUILD_EVENTS) : []),
];
console.log(`\nPersonal fields sealed vs plain (${ROUNDS} alternating rounds; cost: what sealing adds)\n`);
printEncryptionCost(rows);
process.exit(0);
