// The suites that check limits shared across instances need a Redis on the loopback default port; where
// none runs, they are skipped rather than failed.
import net from 'node:net';
import { suite } from 'uvu';
import { startTestServer, type TestServer } from './server.ts';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Whether something accepts connections on 127.0.0.1:6379. */
export const redisIsUp = (): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(6379, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** A suite of two servers that count their limits together in Redis, each trusting a proxy on loopback. */
export const twoInstancesOnRedis = (name: string) => {
  const shared = suite<{ a: TestServer; b: TestServer }>(name);
  shared.before(async (context) => {
    const env = { TRUSTED_PROXIES: '127.0.0.1', REDIS_URL };
    context.a = await startTestServer(env);
    context.b = await startTestServer(env);
  });
  shared.after(async ({ a, b }) => {
    await a.stop();
    await b.stop();
  });
  return shared;
};
