// What the token-endpoint benchmarks share: a real server (embedded PGlite, or the database at
// `databaseUrl`) with rate limits out of the way, one public client, authorization codes made through
// the application service (login and consent are not what is measured), and POST /oauth/token over HTTP.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startServer } from '../../app/server.ts';
import type { OAuth } from '../../app/oauth/index.ts';

export const REDIRECT = 'http://127.0.0.1:9/callback';

/** A public client for the code flow with refresh (redirecting to REDIRECT), registered as DCR would. */
export const registerPublicClient = async (oauth: Pick<OAuth, 'clients'>, clientName: string) => {
  const { client } = await oauth.clients.register(
    {
      clientName,
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      applicationType: 'web',
    },
    'dynamic',
    { type: 'system', id: 'bench' },
  );
  return client;
};

/**
 * A fresh code of `userId` for `clientId`, with its PKCE verifier, made through the application service
 * as the consent page's approval does (login and consent are not what the benches measure).
 */
export const approvedCode = async (oauth: Pick<OAuth, 'authorizations'>, clientId: string, userId: string) => {
  const verifier = randomBytes(32).toString('base64url');
  const { request } = await oauth.authorizations.begin({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const location = new URL(await oauth.authorizations.approve(request, userId, new Date(), false));
  return { code: location.searchParams.get('code')!, verifier };
};

export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export const startTokenBench = async (databaseUrl: string | undefined, name: string) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `rmcp-bench-${name}-`));
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD: 'bench-password-1',
    OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const running = await startServer(config, createLogger('silent'));
  const close = async () => {
    await running.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { oauth, users } = running.services;
    const client = await registerPublicClient(oauth, 'bench');
    const admin = (await users.byEmail(config.adminEmail))!;

    const post = async (form: Record<string, string>) => {
      const response = await fetch(`${running.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      const body = (await response.json()) as Record<string, string>;
      if (response.status !== 200)
        throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
      return body;
    };

    /** A fresh authorization code of the admin for the bench client, with its PKCE verifier. */
    const newCode = () => approvedCode(oauth, client.clientId, admin.id);

    const exchange = (code: { code: string; verifier: string }) =>
      post({
        grant_type: 'authorization_code',
        code: code.code,
        code_verifier: code.verifier,
        redirect_uri: REDIRECT,
        client_id: client.clientId,
      });

    const refresh = (token: string) =>
      post({ grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId });

    const database = config.databaseUrl ? 'PostgreSQL server' : 'embedded PGlite';
    return { database, newCode, exchange, refresh, close };
  } catch (error) {
    await close();
    throw error;
  }
};
