// `events export --redact`: no secret and no personal field survives, while ids, types, streams and times
// stay so the history keeps its shape. The plain export of the same log still holds everything.
import { PassThrough } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exportEvents } from '../../app/backup.ts';
import { REDACTED } from '../../app/redact.ts';
import { BrowserSessionEvent } from '../../domain/browser-sessions/index.ts';
import { KeyEvent } from '../../domain/keys/events.ts';
import { NoteEvent } from '../../domain/memory/events.ts';
import { McpEventEmitted } from '../../domain/sessions/events.ts';
import { ToolCalled } from '../../domain/tools/events.ts';
import { UserEvent } from '../../domain/users/events.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';

const MARKERS = {
  email: 'marker-email@example.com',
  name: 'Marker Name',
  passwordHash: '$argon2id$marker-hash',
  privateKey: 'marker-private-d',
  secret: 'marker-server-secret',
  note: 'marker note content',
  argument: 'marker-tool-argument',
  message: 'marker-mcp-message',
  ip: '203.0.113.77',
  userAgent: 'MarkerAgent/1.0',
};
const at = '2026-12-07T00:00:00.000Z';

const seed = async () => {
  const log = new MemoryEventLog();
  const add = async (stream: string, event: { type: string; data: unknown }) => log.append(stream, [event]);
  await add(
    'user-u1',
    UserEvent.parse({
      type: 'UserCreated',
      data: {
        userId: 'u1',
        email: MARKERS.email,
        name: MARKERS.name,
        passwordHash: MARKERS.passwordHash,
        roles: ['user'],
        createdAt: at,
      },
    }),
  );
  await add(
    'signing-keys',
    KeyEvent.parse({
      type: 'SigningKeyAdded',
      data: {
        kid: 'k1',
        alg: 'ES256',
        publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
        privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: MARKERS.privateKey },
        at,
      },
    }),
  );
  await add('server-secret', { type: 'ServerSecretCreated', data: { secret: MARKERS.secret } });
  await add(
    'memory-note-n1',
    NoteEvent.parse({
      type: 'MemoryStored',
      data: { noteId: 'n1', userId: 'u1', title: MARKERS.note, content: MARKERS.note, tags: [MARKERS.note], at },
    }),
  );
  await add(
    'tool-calls-u1',
    ToolCalled.parse({
      type: 'ToolCalled',
      data: {
        callId: 'c1',
        tool: 'fs_write_file',
        userId: 'u1',
        clientId: 'cl1',
        arguments: { path: MARKERS.argument },
        outcome: 'ok',
        durationMs: 3,
        at,
      },
    }),
  );
  await add(
    'mcp-messages-s1',
    McpEventEmitted.parse({
      type: 'McpEventEmitted',
      data: { sessionId: 's1', streamId: '_GET', message: { jsonrpc: '2.0', result: { text: MARKERS.message } } },
    }),
  );
  await add(
    'browser-session-b1',
    BrowserSessionEvent.parse({
      type: 'BrowserSessionStarted',
      data: {
        sessionId: 'b1',
        userId: 'u1',
        purpose: 'oauth',
        startedAt: at,
        expiresAt: at,
        ip: MARKERS.ip,
        userAgent: MARKERS.userAgent,
      },
    }),
  );
  return log;
};

const exportText = async (log: MemoryEventLog, redact: boolean) => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const count = await exportEvents(log, out, { redact });
  out.end();
  return { count, text: Buffer.concat(chunks).toString() };
};

const test = suite('app: events export --redact');

test('a redacted export holds no secret and no personal field; the plain one holds them all', async () => {
  const log = await seed();
  const plain = await exportText(log, false);
  const redacted = await exportText(log, true);
  assert.is(plain.count, 7);
  assert.is(redacted.count, 7);
  for (const [field, marker] of Object.entries(MARKERS)) {
    assert.ok(plain.text.includes(marker), `plain export keeps ${field}`);
    assert.not.ok(redacted.text.includes(marker), `redacted export leaves out ${field}`);
  }
});

test('a redacted export keeps ids, types, streams, revisions, times and outcomes', async () => {
  const log = await seed();
  const plain = (await exportText(log, false)).text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const redacted = (await exportText(log, true)).text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const shape = (event: Record<string, unknown>) => [
    event.id,
    event.stream,
    event.revision,
    event.type,
    event.createdAt,
  ];
  assert.equal(redacted.map(shape), plain.map(shape));
  const call = redacted.find((event) => event.type === 'ToolCalled');
  assert.equal(call.data, {
    callId: 'c1',
    tool: 'fs_write_file',
    userId: 'u1',
    clientId: 'cl1',
    arguments: REDACTED,
    outcome: 'ok',
    durationMs: 3,
    at,
  });
  const key = redacted.find((event) => event.type === 'SigningKeyAdded');
  assert.is(key.data.privateJwk, REDACTED);
  assert.equal(key.data.publicJwk, { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' });
});

test.run();
