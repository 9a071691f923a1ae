// kill -9 one of two instances while MCP sessions are storing memories through a round-robin proxy:
// the clients continue on the other instance with the same sessions, every call that succeeded is in
// the log and the read model, and no read-model row is doubled (rows = events, one for one).
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { serverUrl } from '../support/databases.ts';
import { skipSuite } from '../support/skip.ts';

if (!serverUrl()) skipSuite('faults: kill -9 an instance under load', 'TEST_DATABASE_URL not set', 1);
else {
  const test = suite<{ cluster: Cluster }>('faults: kill -9 an instance under load');
  test.before(async (context) => {
    context.cluster = await startCluster();
  });
  test.after(async ({ cluster }) => cluster.close());

  test('sessions continue on the survivor; nothing lost, nothing doubled', async ({ cluster }) => {
    const run = randomUUID().slice(0, 8);
    const succeeded = new Set<string>();
    let failures = 0;
    let killed = false;
    const sessionsBefore: string[] = [];
    const worker = async (index: number) => {
      const client = new Client({ name: `kill-${index}`, version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL('/mcp', cluster.base), {
        requestInit: { headers: { authorization: `Bearer ${cluster.token}` } },
      });
      await client.connect(transport);
      const opened = transport.sessionId!;
      sessionsBefore.push(opened);
      for (let i = 0; i < 20; i += 1) {
        const title = `${run}-${index}-${i}`;
        // A client retries a call that failed with the dying instance (at-least-once from its side).
        for (let attempt = 0; attempt < 5; attempt += 1) {
          try {
            // A request still running when its instance died has no response to replay (what was sent
            // is stored, and resumes elsewhere): the client's own timeout, shortened here from the
            // SDK's 60 s, makes it retry.
            const result = await client.callTool(
              { name: 'memory_store', arguments: { title, content: `note ${title}`, tags: ['kill'] } },
              undefined,
              { timeout: 5_000 },
            );
            if (!result.isError) {
              succeeded.add(title);
              break;
            }
          } catch {
            failures += 1;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        if (index === 0 && i === 5 && !killed) {
          killed = true;
          cluster.instances[0]!.process.kill('SIGKILL');
        }
      }
      assert.is(transport.sessionId, opened, 'the same session continued');
      await client.close();
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
    assert.ok(killed);
    assert.is(await cluster.instances[0]!.exited, null, 'instance A died by SIGKILL');
    assert.is(succeeded.size, 8 * 20, `every call succeeded in the end (${failures} transient failures)`);

    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    try {
      // Let the survivor's projections catch up on everything in the log.
      const deadline = Date.now() + 15_000;
      let counts: { events: number; rows: number; calls: number; callRows: number } | undefined;
      for (;;) {
        const row = (
          await db.query<{ events: string; rows: string; calls: string; call_rows: string }>(
            `
            -- The cluster's database is its own, and titles are sealed in the log: count them all.
            SELECT (SELECT count(*) FROM events WHERE event_type = 'MemoryStored') AS events,
                   (SELECT count(*) FROM memory_notes) AS rows,
                   (SELECT count(*) FROM events WHERE event_type = 'ToolCalled') AS calls,
                   (SELECT count(*) FROM tool_calls) AS call_rows`,
          )
        ).rows[0]!;
        counts = {
          events: Number(row.events),
          rows: Number(row.rows),
          calls: Number(row.calls),
          callRows: Number(row.call_rows),
        };
        if ((counts.events === counts.rows && counts.calls === counts.callRows) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.is(counts.rows, counts.events, 'one memory_notes row per MemoryStored event');
      assert.is(counts.callRows, counts.calls, 'one tool_calls row per ToolCalled event');
      const titles = new Set(
        (
          await db.query<{ title: string }>(`SELECT DISTINCT title FROM memory_notes WHERE title LIKE $1`, [`${run}-%`])
        ).rows.map((r) => r.title),
      );
      for (const title of succeeded) assert.ok(titles.has(title), `${title} is stored`);
    } finally {
      await db.end();
    }
  });

  test.run();
}
