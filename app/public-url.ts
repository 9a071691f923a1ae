// The base URL (issuer, resource, links) a request is answered as. With PUBLIC_URL set it is exactly
// PUBLIC_URL. Unset, the server is local: it answers as whichever loopback origin the request names
// (localhost, 127.0.0.1 or [::1] with the listening port), because MCP clients require the protected
// resource metadata to name the very URL they used (RFC 9728 §3.3) and browsers keep cookies per host.
//
// With PUBLIC_URL set, a loopback Host is answered too (as PUBLIC_URL): it comes from this machine, such
// as a reverse proxy that sends the upstream's address as Host (nginx's default), and a DNS rebinding
// page cannot send one. Any other Host is refused.
import type { Config } from './config.ts';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** The three loopback origins of one port, localhost first. */
export const loopbackOrigins = (port: number): string[] =>
  LOOPBACK_NAMES.map((name) => `http://${name}${port === 80 ? '' : `:${port}`}`);

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

const portOf = (url: URL): number => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

/** Whether a Host header names the same host and port as `base` (a default port may be written or not). */
const hostMatches = (base: string, host: string): boolean => {
  // A Host header is a name or [address] and a port; anything else (userinfo, a path) names nothing.
  if (!/^[a-z0-9.\-]+(:\d+)?$|^\[[0-9a-f:.]+\](:\d+)?$/i.test(host)) return false;
  const expected = new URL(base);
  try {
    return new URL(`${expected.protocol}//${host}`).host === expected.host;
  } catch {
    return false;
  }
};

/**
 * The base URL for a request whose Host header is `host`, arriving on local port `localPort`; undefined
 * when this server does not answer under that name (another host, or DNS rebinding onto loopback).
 */
export const publicUrlForHost = (config: Config, host: string, localPort: number | undefined): string | undefined => {
  if (!config.publicUrlFollowsRequest)
    return hostMatches(config.publicUrl, host) || LOOPBACK_HOST.test(host) ? config.publicUrl : undefined;
  if (localPort === undefined) return undefined;
  return loopbackOrigins(localPort).find((origin) => hostMatches(origin, host));
};

/**
 * The base URLs that are one server with `base`, whose tokens each accepts: PUBLIC_URL alone when it is
 * set; otherwise the three loopback origins of base's port (none when base is not one of them).
 */
export const sameServer = (config: Config, base: string): string[] => {
  if (!config.publicUrlFollowsRequest) return [config.publicUrl];
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return [];
  }
  const origins = loopbackOrigins(portOf(url));
  return origins.includes(base) ? origins : [];
};

/** What a refused Host is told: where this server is meant to be opened. */
export const wrongHostMessage = (config: Config, localPort: number | undefined): string =>
  config.publicUrlFollowsRequest
    ? `this server answers only as ${loopbackOrigins(localPort ?? config.port).join(', ')}; ` +
      'to reach it under another name, set PUBLIC_URL to that URL'
    : `this server is configured as ${config.publicUrl}; open it there`;
