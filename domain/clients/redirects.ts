// Redirect URI rules, shared by registration (what may be registered) and /oauth/authorize (what matches).

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
export const isLoopbackHost = (hostname: string): boolean =>
  LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * Why a redirect URI may not be registered, or undefined when it may.
 * OAuth 2.1 §2.3.1 / RFC 9700 §4.1.1: absolute, no fragment; https, or http only for loopback
 * (RFC 8252 §7.3); native apps may use a private-use scheme with a reverse domain name (RFC 8252 §7.1).
 */
export const redirectUriProblem = (value: string, applicationType: 'web' | 'native'): string | undefined => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.hash || value.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not contain user information';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:')
    return isLoopbackHost(url.hostname) ? undefined : 'must use https (http only for loopback)';
  const scheme = url.protocol.slice(0, -1);
  if (['javascript', 'data', 'vbscript', 'file', 'blob', 'about', 'ftp', 'ws', 'wss'].includes(scheme))
    return `must not use the ${scheme}: scheme`;
  // RFC 8252 §7.1: private-use URI schemes are reverse domain names, e.g. com.example.app:/callback.
  if (applicationType === 'native' && scheme.includes('.')) return undefined;
  return 'must use https, loopback http, or (native apps) a reverse-domain private-use scheme';
};

/**
 * Exact string match (RFC 9700 §4.1.3), except that for loopback http redirect URIs the port is
 * ignored (RFC 8252 §7.3: native apps listen on an ephemeral port).
 */
export const matchesRegisteredRedirect = (requested: string, registered: readonly string[]): boolean => {
  if (registered.includes(requested)) return true;
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return false;
  }
  if (
    url.protocol !== 'http:' ||
    !isLoopbackHost(url.hostname) ||
    url.username ||
    url.password ||
    requested.includes('#')
  )
    return false;
  return registered.some((candidate) => {
    let reg: URL;
    try {
      reg = new URL(candidate);
    } catch {
      return false;
    }
    if (reg.protocol !== 'http:' || reg.hostname !== url.hostname) return false;
    // Compare everything but the port, textually, so no normalization trick can widen the match.
    const withoutPort = (u: URL) => `${u.protocol}//${u.hostname}${u.pathname}${u.search}`;
    return withoutPort(reg) === withoutPort(url) && new URL(`http://x${url.pathname}`).pathname === url.pathname;
  });
};
