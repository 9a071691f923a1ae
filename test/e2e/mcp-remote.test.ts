// mcp-remote, a third-party MCP client from npm, against the real server with PUBLIC_URL unset, once through
// http://localhost:P/mcp and once through http://127.0.0.1:P/mcp: its own discovery (RFC 9728, RFC 8414), dynamic
// registration (RFC 7591), PKCE login on the server's pages and its loopback callback (RFC 8252 §7.3), then MCP over
// its stdio: initialize, tools/list and three tools/call. BROWSER points at a script that only notes the URL; the
// authorize URL is read from mcp-remote's stderr and the login and consent pages are driven by a cookie jar over HTTP.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientStream } from '../../domain/clients/index.ts';
import { toolAuditStream } from '../../domain/tools/index.ts';
import { freePort, startTestServer, type TestServer } from '../support/server.ts';
import { Browser, consent, login } from '../http/oauth/support.ts';
import { skipSuite } from '../support/skip.ts';

const NAME = 'e2e: mcp-remote (npm) signs in and calls tools through each loopback name';
const PROXY = path.resolve('node_modules', 'mcp-remote', 'dist', 'proxy.js');
const VERSION = (
  JSON.parse(fs.readFileSync(path.resolve('node_modules', 'mcp-remote', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
const LOGS = path.resolve('test-output', 'logs');
/** The whole of one run (start, sign-in, four requests); it takes a few seconds. */
const RUN_MS = 50_000;
const USER = { email: 'ada@example.test', password: 'ada-password-123' };
const PRODUCT_TOOLS = ['system_whoami', 'system_info', 'memory_store', 'memory_search', 'memory_read_graph'];

type JsonRpcResponse = { jsonrpc: '2.0'; id: number; result?: Record<string, unknown>; error?: { message: string } };
type ToolResult = {
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

/** One mcp-remote child: its stderr log lines, and JSON-RPC over newline-delimited stdio (MCP stdio transport). */
class McpRemote {
  readonly log: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (response: JsonRpcResponse) => void>();
  private readonly logWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  private nextId = 1;
  private readonly exited: Promise<number | null>;
  /** Rejects when the child exits: a wait fails at once, with its log, rather than at the deadline. */
  private readonly died: Promise<never>;
  /** Every wait shares one budget, so a stuck run fails within RUN_MS of its start. */
  private readonly deadline = Date.now() + RUN_MS;

  constructor(url: string, callbackPort: number, home: string) {
    // The "browser" only notes the URL it was asked to open (one per line in opened.txt).
    const browser = path.join(home, 'browser.sh');
    fs.writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${path.join(home, 'opened.txt')}'\n`, {
      mode: 0o755,
    });
    // A closed environment: no DISPLAY, BROWSER for `open`/xdg-open, and a token cache of its own.
    this.child = spawn(process.execPath, [PROXY, url, String(callbackPort)], {
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: home,
        BROWSER: browser,
        MCP_REMOTE_CONFIG_DIR: path.join(home, 'mcp-auth'),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.died = this.exited.then((code) => {
      throw new Error(`mcp-remote exited (${code}) early; its log:\n${this.log.join('\n')}`);
    });
    this.died.catch(() => {});
    readline.createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.log.push(line);
      for (const waiter of [...this.logWaiters])
        if (waiter.pattern.test(line)) {
          this.logWaiters.splice(this.logWaiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as JsonRpcResponse;
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  /** The first stderr line (past or future) matching `pattern`. */
  waitForLog(pattern: RegExp): Promise<string> {
    const seen = this.log.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return within(
      this.deadline - Date.now(),
      `mcp-remote log ${pattern} (log so far:\n${this.log.join('\n')})`,
      Promise.race([new Promise<string>((resolve) => this.logWaiters.push({ pattern, resolve })), this.died]),
    );
  }

  request(method: string, params: Record<string, unknown> = {}): Promise<JsonRpcResponse> {
    const id = this.nextId++;
    const answer = new Promise<JsonRpcResponse>((resolve) => this.pending.set(id, resolve));
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return within(this.deadline - Date.now(), `${method} through mcp-remote`, Promise.race([answer, this.died]));
  }

  notify(method: string): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  }

  async call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
    const response = await this.request('tools/call', { name, arguments: args });
    assert.is(response.error, undefined, `${name}: ${JSON.stringify(response.error)}`);
    return response.result as ToolResult;
  }

  /** Ends the child: closing stdin is its normal way out; SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(timer);
  }
}

type Context = { server: TestServer; userId: string; homes: string[] };

if (!fs.existsSync(PROXY)) {
  skipSuite(NAME, `mcp-remote is not installed at ${PROXY} (run npm ci)`, 2);
} else {
  const test = suite<Context>(NAME);

  test.before(async (context) => {
    // PUBLIC_URL '' is "unset" (app/config.ts), as on a first run; HOST=localhost serves 127.0.0.1 and ::1.
    context.server = await startTestServer({ PUBLIC_URL: '', HOST: 'localhost' });
    context.userId = await context.server.services.users.create(
      { ...USER, roles: ['user'] },
      { type: 'system', id: 'test' },
    );
    context.homes = [];
  });
  test.after(async ({ server, homes }) => {
    await server.stop();
    for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
  });

  for (const name of ['localhost', '127.0.0.1']) {
    test(`mcp-remote ${VERSION} → http://${name}:P/mcp: discovery, registration, login, tools/list, three calls`, async (context) => {
      const { server, userId } = context;
      const origin = `http://${name}:${server.env.PORT}`;
      const serverUrl = `${origin}/mcp`;
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-mcp-remote-'));
      context.homes.push(home);
      const callbackPort = await freePort();
      const remote = new McpRemote(serverUrl, callbackPort, home);
      try {
        // mcp-remote discovered the server from the 401 and registered itself; now it asks for a login.
        const authorizeLine = await remote.waitForLog(/^https?:\/\/\S+\/oauth\/authorize\?/);
        const authorize = new URL(authorizeLine.trim());
        // RFC 9728 §3.3: the metadata named the very URL mcp-remote was given, so the flow stays on this origin.
        assert.is(authorize.origin, origin);
        assert.is(authorize.searchParams.get('resource'), serverUrl);
        assert.is(authorize.searchParams.get('code_challenge_method'), 'S256');
        const redirectUri = new URL(authorize.searchParams.get('redirect_uri')!);
        // RFC 8252 §7.3: a loopback redirect on the port mcp-remote listens on.
        assert.is(redirectUri.toString(), `http://localhost:${callbackPort}/oauth/callback`);
        // It asked the system browser (our BROWSER script) to open that same request, once.
        await remote.waitForLog(/Browser opened automatically/);
        const opened = fs.readFileSync(path.join(home, 'opened.txt'), 'utf8').trim().split('\n');
        assert.is(opened.length, 1);
        assert.equal([...new URL(opened[0]!).searchParams], [...authorize.searchParams]);

        const browser = new Browser(origin);
        const start = await browser.get(authorize.toString());
        assert.is(start.status, 303, 'authorize sends the browser to the login page');
        const loginUrl = start.headers.get('location')!;
        assert.ok(loginUrl.includes('/oauth/login?request='), loginUrl);
        const signedIn = await login(browser, loginUrl, USER.email, USER.password);
        assert.is(signedIn.status, 303, 'the login is accepted');
        const consentUrl = signedIn.headers.get('location')!;
        assert.ok(consentUrl.includes('/oauth/consent?request='), consentUrl);
        const approved = await consent(browser, consentUrl, 'approve');
        assert.is(approved.status, 303, 'consent redirects to the client');
        const callback = new URL(approved.headers.get('location')!);
        assert.is(`${callback.origin}${callback.pathname}`, `${redirectUri.origin}${redirectUri.pathname}`);
        assert.is(callback.searchParams.get('iss'), origin, 'RFC 9207: the issuer mcp-remote discovered');
        assert.ok(callback.searchParams.get('code'));

        // The browser follows the redirect to mcp-remote's own callback server, which then redeems the code.
        const delivered = await fetch(callback);
        assert.is(delivered.status, 200, 'mcp-remote took the callback');
        await remote.waitForLog(/Proxy established successfully/);

        const initialized = await remote.request('initialize', {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'mcp-remote-e2e', version: '1.0.0' },
        });
        assert.is(initialized.error, undefined);
        assert.is((initialized.result!.serverInfo as { name: string }).name, 'remotemcp');
        remote.notify('notifications/initialized');

        const listed = await remote.request('tools/list');
        const tools = (listed.result!.tools as Array<{ name: string }>).map((tool) => tool.name);
        for (const tool of PRODUCT_TOOLS) assert.ok(tools.includes(tool), `tools/list names ${tool}`);

        const whoami = await remote.call('system_whoami', {});
        assert.is(whoami.isError, undefined);
        const me = whoami.structuredContent as { userId: string; email: string; clientId: string; scopes: string[] };
        assert.is(me.userId, userId);
        assert.is(me.email, USER.email);
        assert.equal([...me.scopes].sort(), ['mcp:tools:read', 'mcp:tools:write', 'offline_access']);

        const note = `mcp-remote via ${name}: the quokka ${Date.now()}`;
        const stored = await remote.call('memory_store', { content: note, tags: ['e2e'] });
        assert.is(stored.isError, undefined);
        const storedNote = stored.structuredContent as { id: string; content: string; tags: string[] };
        assert.is(storedNote.content, note);
        assert.equal(storedNote.tags, ['e2e']);
        assert.is(stored.content[0]?.text, `Stored note ${storedNote.id} [e2e]`);

        const found = await remote.call('memory_search', { query: `quokka ${name}`, tags: ['e2e'] });
        assert.is(found.isError, undefined);
        const results = (found.structuredContent as { results: Array<{ id: string; content: string }> }).results;
        assert.ok(
          results.some((result) => result.id === storedNote.id && result.content === note),
          JSON.stringify(results),
        );

        // The event log, read by stream: global reads lag behind any transaction still running on the
        // PostgreSQL server (eventstore/postgres.ts), and the tests share one. The response was sent only once
        // stored, with the audit event in the same commit or an earlier one (mcp/tools/registry.ts).
        await server.services.groupCommit.flush();
        const registration = await server.services.log.readStream(clientStream(me.clientId));
        assert.equal(
          registration.map((event) => [event.type, (event.data as { source: string }).source]),
          [['ClientRegistered', 'dynamic']],
          'mcp-remote registered itself (RFC 7591)',
        );
        const calls = (await server.services.log.readStream(toolAuditStream(userId)))
          .map((event) => ({
            type: event.type,
            ...(event.data as { tool: string; clientId: string; outcome: string }),
          }))
          .filter((call) => call.clientId === me.clientId)
          .map(({ type, tool, outcome }) => ({ type, tool, outcome }));
        assert.equal(
          calls,
          ['system_whoami', 'memory_store', 'memory_search'].map((tool) => ({
            type: 'ToolCalled',
            tool,
            outcome: 'ok',
          })),
        );
      } finally {
        await remote.stop();
        // Its stderr, for whoever reads a failure: discovery, registration and callback steps in its own words.
        fs.mkdirSync(LOGS, { recursive: true });
        fs.writeFileSync(path.join(LOGS, `mcp-remote-${name}.log`), `${remote.log.join('\n')}\n`);
      }
    });
  }

  test.run();
}
