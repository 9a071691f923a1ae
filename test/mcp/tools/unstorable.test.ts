// Audit evasion by text PostgreSQL cannot store (U+0000, unpaired surrogates), over real HTTP with the
// MCP SDK client, on embedded PGlite and on a PostgreSQL server (TEST_DATABASE_URL): such a payload
// fails nothing but its own request, and every tool call that had an effect has its ToolCalled event.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { messageStream } from '../../../domain/sessions/index.ts';
import { toolAuditStream } from '../../../domain/tools/index.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import type { StandInTokens } from '../support.ts';
import { serverUrl } from '../../support/databases.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';
import { caller, connectHttp, errorText, serveWithStandInTokens } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens };

const LONE_HIGH = '\uD800';
const LONE_LOW = '\uDFFF';

type Audited = { tool: string; outcome: string; arguments: Record<string, unknown>; error?: string };

const auditOf = async (server: TestServer, userId: string): Promise<Audited[]> => {
  await server.services.groupCommit.flush();
  const events = await server.services.log.readStream(toolAuditStream(userId));
  return events.filter((event) => event.type === 'ToolCalled').map((event) => event.data as Audited);
};

/** The tools/call results stored for replay in a session's message stream. */
const storedResults = async (server: TestServer, sessionId: string): Promise<RecordedEvent[]> => {
  await server.services.groupCommit.flush();
  const events = await server.services.log.readStream(messageStream(sessionId));
  return events.filter((event) => {
    const message = (event.data as { message?: { result?: { content?: unknown } } }).message;
    return event.type === 'McpEventEmitted' && Array.isArray(message?.result?.content);
  });
};

const unstorableSuite = (name: string, database: 'embedded' | 'server') => {
  const test = suite<Context>(`tools: unstorable text over HTTP on ${name}`);
  test.before(async (context) => {
    context.server = await startTestServer({}, database === 'embedded' ? { database: 'embedded' } : {});
    context.tokens = await serveWithStandInTokens(context.server);
  });
  test.after(async ({ server }) => server.stop());

  test('fs_write_file with U+0000 and lone surrogates in unknown extra arguments: written, and audited with U+FFFD', async ({
    server,
    tokens,
  }) => {
    const who = caller('nul-writer');
    const connected = await connectHttp(server, tokens, who);
    const result = await connected.call('fs_write_file', {
      path: 'nul-extra.txt',
      content: 'hello',
      extra: 'a\0b',
      ['key\0']: LONE_HIGH,
      nested: { deep: [`x${LONE_LOW}`] },
    });
    assert.not.ok(result.isError, JSON.stringify(result.content));
    assert.is(fs.readFileSync(path.join(server.dataDir, 'files', 'nul-extra.txt'), 'utf8'), 'hello');
    const audited = await auditOf(server, who.userId);
    assert.equal(audited, [
      {
        ...audited[0]!,
        tool: 'fs_write_file',
        outcome: 'ok',
        arguments: {
          path: 'nul-extra.txt',
          content: '[5 chars]',
          extra: 'a\uFFFDb',
          'key\uFFFD': '\uFFFD',
          nested: { deep: ['x\uFFFD'] },
        },
      },
    ]);
    await connected.close();
  });

  test('memory_store with U+0000 or a lone surrogate: invalid_arguments, nothing stored, the refusal audited', async ({
    server,
    tokens,
  }) => {
    const who = caller('nul-memory');
    const connected = await connectHttp(server, tokens, who);
    const nul = await connected.call('memory_store', { content: 'remember a\0b' });
    assert.is(
      errorText(nul),
      'invalid_arguments: content: holds U+0000 or an unpaired surrogate, which cannot be stored',
    );
    const lone = await connected.call('memory_store', { content: 'fine', tags: [`t${LONE_HIGH}`] });
    assert.is(
      errorText(lone),
      'invalid_arguments: tags[0]: holds U+0000 or an unpaired surrogate, which cannot be stored',
    );
    const memoryEvents = async () =>
      (await server.services.log.readAll({ maxCount: 100_000 })).filter(
        (event) => event.type.startsWith('Memory') && JSON.stringify(event.data).includes(who.userId),
      );
    assert.is((await memoryEvents()).length, 0);
    assert.equal(
      (await auditOf(server, who.userId)).map((entry) => [entry.tool, entry.outcome, entry.arguments]),
      [
        ['memory_store', 'error', { content: '[12 chars]' }],
        ['memory_store', 'error', { content: '[4 chars]', tags: ['t\uFFFD'] }],
      ],
    );
    // Storable text is stored exactly, a valid surrogate pair included.
    const ok = await connected.call('memory_store', { content: 'smile \uD83D\uDE00' });
    assert.not.ok(ok.isError, JSON.stringify(ok.content));
    assert.equal(
      (await memoryEvents()).map((event) => [event.type, (event.data as { content?: string }).content]),
      [['MemoryStored', 'smile \uD83D\uDE00']],
    );
    await connected.close();
  });

  test("another user's 300 concurrent calls are all audited and stored for replay while one sends U+0000 and lone surrogates", async ({
    server,
    tokens,
  }) => {
    const attacker = caller('attacker');
    const victim = caller('victim');
    const a = await connectHttp(server, tokens, attacker);
    const b = await connectHttp(server, tokens, victim);
    // A file whose text holds U+0000: reading it puts the character in the response (a replay message).
    assert.not.ok((await a.call('fs_write_file', { path: 'binary.txt', content: 'bin\0ary' })).isError);
    const attacks = Array.from({ length: 60 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return a.call('fs_write_file', { path: `attack-${i}.txt`, content: 'x', extra: `\0${i}` });
        case 1:
          return a.call('fs_get_file_info', { path: 'binary.txt', [`k${LONE_LOW}`]: LONE_HIGH });
        case 2:
          return a.call('fs_read_text_file', { path: 'binary.txt' });
        default:
          return a.call('memory_store', { content: `note\0${i}` });
      }
    });
    const calls = Array.from({ length: 300 }, (_, i) => b.call('memory_list', { limit: 1 + (i % 5) }));
    const [attackResults, results] = await Promise.all([Promise.all(attacks), Promise.all(calls)]);
    assert.is(results.filter((result) => result.isError).length, 0);
    // The attacker's own reads of the file get the text as it is; its memory notes are refused.
    const read = attackResults[2]!;
    assert.is(read.structuredContent?.content, 'bin\0ary');
    assert.is(attackResults.filter((result) => result.isError).length, 15);

    const victimAudit = await auditOf(server, victim.userId);
    assert.is(victimAudit.length, 300);
    assert.ok(victimAudit.every((entry) => entry.tool === 'memory_list' && entry.outcome === 'ok'));
    assert.is((await storedResults(server, b.client.transport!.sessionId!)).length, 300);
    // The attacker's calls are audited too (the setup write included), with U+FFFD in place.
    const attackerAudit = await auditOf(server, attacker.userId);
    assert.is(attackerAudit.length, 61);
    assert.is(attackerAudit.filter((entry) => entry.arguments.extra === `\uFFFD4`).length, 1);
    // The response that held U+0000 is stored for replay with U+FFFD.
    const replayed = (await storedResults(server, a.client.transport!.sessionId!)).map((event) =>
      JSON.stringify(event.data),
    );
    assert.ok(replayed.some((text) => text.includes('bin\uFFFDary')));
    assert.not.ok(replayed.some((text) => text.includes('\\u0000')));
    await Promise.all([a.close(), b.close()]);
  });

  return test;
};

unstorableSuite('PGlite', 'embedded').run();
if (serverUrl()) unstorableSuite('a PostgreSQL server', 'server').run();
else skipSuite('tools: unstorable text over HTTP on a PostgreSQL server', 'TEST_DATABASE_URL not set', 3);
