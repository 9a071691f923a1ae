// The shipped production shape (docker-compose.yml + deploy/Caddyfile), read as files: no Docker or
// Caddy runs here. The apps trust exactly the proxy's address, and the proxy does not expose /metrics.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { loadConfig } from '../app/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const test = suite('deploy: compose file and Caddyfile');

type Compose = {
  services: Record<
    string,
    { environment?: Record<string, string>; networks?: Record<string, { ipv4_address?: string }> }
  >;
};

test('both app instances trust exactly the proxy, whose address is fixed', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as Compose;
  const proxyAddress = compose.services.proxy?.networks?.default?.ipv4_address;
  assert.ok(proxyAddress);
  for (const name of ['app1', 'app2']) {
    const trusted = compose.services[name]?.environment?.TRUSTED_PROXIES;
    assert.is(trusted, proxyAddress, name);
    assert.equal(loadConfig({ TRUSTED_PROXIES: trusted }).trustedProxies, [proxyAddress]);
  }
});

test('the Caddyfile answers /metrics itself (404) before anything is proxied', () => {
  const caddyfile = fs.readFileSync(path.join(ROOT, 'deploy', 'Caddyfile'), 'utf8');
  const code = caddyfile.replace(/#.*$/gm, '');
  assert.match(code, /@metrics path \/metrics \/metrics\/\*/);
  assert.match(code, /handle @metrics \{\s*respond 404\s*\}/);
  // The only reverse_proxy sits in the catch-all handle, which Caddy tries after the more specific one.
  assert.is(code.match(/reverse_proxy/g)?.length, 1);
  assert.ok(code.indexOf('handle @metrics') < code.indexOf('reverse_proxy'));
});

test.run();
