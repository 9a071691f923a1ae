// TRUSTED_PROXIES: X-Forwarded-For / -Proto are believed only when the direct peer is a named proxy.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../../app/config.ts';
import { trustedProxies } from '../../http/proxy.ts';

const test = suite('http: trusted proxies');

/** A real HTTP server with only the middleware, answering what the app would see as ip and protocol. */
const seen = async (trusted: string, headers: Record<string, string>) => {
  const app = new Koa();
  app.use(trustedProxies(loadConfig({ TRUSTED_PROXIES: trusted })));
  app.use((ctx) => {
    ctx.body = { ip: ctx.ip, protocol: ctx.protocol, secure: ctx.secure };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return (await (await fetch(`http://127.0.0.1:${port}/`, { headers })).json()) as {
      ip: string;
      protocol: string;
      secure: boolean;
    };
  } finally {
    server.close();
  }
};

const forged = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };

test('no TRUSTED_PROXIES (the default): the forwarded headers change nothing', async () => {
  assert.equal(await seen('', forged), { ip: '127.0.0.1', protocol: 'http', secure: false });
});

test('a peer that is not a trusted proxy: its forged headers are ignored', async () => {
  assert.equal(await seen('10.0.0.1, 192.168.0.0/16', forged), { ip: '127.0.0.1', protocol: 'http', secure: false });
});

test('a trusted peer: the client is the rightmost address that is not a trusted proxy; https is believed', async () => {
  assert.equal(await seen('127.0.0.1', forged), { ip: '203.0.113.9', protocol: 'https', secure: true });
  // A client may put anything on the left; only the hop the trusted proxy appended counts.
  const chain = { 'x-forwarded-for': '198.51.100.1, 10.1.2.3', 'x-forwarded-proto': 'https' };
  assert.is((await seen('127.0.0.1', chain)).ip, '10.1.2.3');
  assert.is((await seen('127.0.0.1, 10.0.0.0/8', chain)).ip, '198.51.100.1');
  assert.is((await seen('127.0.0.1', {})).ip, '127.0.0.1');
});

test('TRUSTED_PROXIES must be addresses or CIDRs: anything else stops start-up naming the variable', () => {
  for (const bad of ['proxy.example', '10.0.0.1/40', '300.1.2.3']) {
    try {
      loadConfig({ TRUSTED_PROXIES: bad });
      assert.unreachable(bad);
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.is((error as ConfigError).variable, 'TRUSTED_PROXIES');
    }
  }
  assert.equal(loadConfig({ TRUSTED_PROXIES: ' 172.28.0.10 , fd00::/8 ' }).trustedProxies, ['172.28.0.10', 'fd00::/8']);
});

test.run();
