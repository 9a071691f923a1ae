// Every token request looks its client up; a client read from its stream answers for CLIENT_CACHE_MS
// (app/oauth/clients.ts). What must hold: a change made through this instance counts at once, even for a
// lookup that was reading while it happened; another instance's change counts within that time
// (test/http/oauth/instances.test.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientStream } from '../../../domain/clients/index.ts';
import type { EventLog } from '../../../eventstore/port.ts';
import { MCP_READ } from '../../../domain/scopes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { basic, tokenRequest } from './support.ts';

const test = suite<{ server: TestServer; reads: string[]; gate?: Promise<void> | undefined }>(
  'oauth: the client lookup cache',
);
const TEST = { type: 'system' as const, id: 'test' };

test.before(async (context) => {
  context.server = await startTestServer();
  context.server.services.oauth.clients.cacheMs = 60_000;
  context.reads = [];
  // Counts the client streams read; `gate`, when set, holds a read's answer back (its query already ran).
  const log = context.server.services.log;
  const readStream = log.readStream.bind(log);
  (log as { readStream: EventLog['readStream'] }).readStream = async (stream, options) => {
    const events = await readStream(stream, options);
    if (stream.startsWith(clientStream(''))) {
      context.reads.push(stream);
      const gate = context.gate;
      context.gate = undefined;
      await gate;
    }
    return events;
  };
});
test.after(async ({ server }) => server.stop());

const machine = async (server: TestServer, name: string) => {
  const created = await server.services.oauth.createMachineClient(
    { name, userEmail: `${name}@example.com`, scopes: [MCP_READ] },
    TEST,
  );
  return { clientId: created.client.clientId, authorization: basic(created.client.clientId, created.clientSecret!) };
};
const clientCredentials = (server: TestServer, authorization: string) =>
  tokenRequest(server.base, { grant_type: 'client_credentials', scope: MCP_READ }, { authorization });

test('token requests in a row read the client stream once', async ({ server, reads }) => {
  const { clientId, authorization } = await machine(server, 'cached');
  reads.length = 0;
  for (let i = 0; i < 3; i += 1) assert.is((await clientCredentials(server, authorization)).status, 200);
  assert.equal(reads, [clientStream(clientId)]);
});

test('token requests that miss together share one read of the client stream', async ({ server, reads }) => {
  const { clientId, authorization } = await machine(server, 'herd');
  reads.length = 0;
  const replies = await Promise.all(Array.from({ length: 8 }, () => clientCredentials(server, authorization)));
  assert.equal(
    replies.map((reply) => reply.status),
    Array(8).fill(200),
  );
  assert.equal(reads, [clientStream(clientId)]);
});

test('a client deleted through this instance is refused by the very next request', async ({ server }) => {
  const { clientId, authorization } = await machine(server, 'deleted');
  assert.is((await clientCredentials(server, authorization)).status, 200);
  assert.is(await server.services.oauth.clients.delete(clientId, TEST), true);
  const refused = await clientCredentials(server, authorization);
  assert.is(refused.status, 401);
  assert.is(refused.body.error, 'invalid_client');
});

test('a lookup that was reading while the client changed answers what it read, and is not kept', async (context) => {
  const { server, reads } = context;
  const { clientId } = await machine(server, 'overlapped');
  const clients = server.services.oauth.clients;
  let release!: () => void;
  context.gate = new Promise<void>((resolve) => (release = resolve));
  reads.length = 0;
  const reading = clients.find(clientId);
  while (reads.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // The stream was read (client active); it is deleted before that answer comes back.
  assert.is(await clients.delete(clientId, TEST), true);
  release();
  assert.is((await reading)?.clientId, clientId);
  assert.is(await clients.find(clientId), undefined);
});

test('an unknown client_id is not remembered: registered a moment later, it is found', async ({ server }) => {
  const clients = server.services.oauth.clients;
  assert.is(await clients.find('not-yet-registered'), undefined);
  const { clientId } = await machine(server, 'late');
  assert.is((await clients.find(clientId))?.clientId, clientId);
});

test.run();
