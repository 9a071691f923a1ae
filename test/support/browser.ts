import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

// What the browser-like test clients share: a cookie jar fed from Set-Cookie, and the hidden `csrf`
// field of a page (test/http/oauth/support.ts Browser, test/http/admin/client.ts AdminClient).

export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** Applies a response's Set-Cookie lines (Max-Age=0 or an empty value deletes); returns them. */
  protected remember(response: Response): string[] {
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return setCookies;
  }

  protected cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export const csrfOf = (html: string): string => {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no csrf field in page: ${html.slice(0, 300)}`);
  return match[1]!;
};

/** Debian's chromium, headless, with nothing fetched from outside (no updates, sync or first-run pages). */
export const launchChromium = (executablePath: string): Promise<Browser> =>
  chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

/** A client's loopback redirect URI (RFC 8252 §7.3) for a real browser to land on. */
export type LoopbackCallback = { readonly url: string; readonly received: URL[]; close(): Promise<void> };

/** Listens on 127.0.0.1 at a free port: answers with a small page and keeps each /callback URL it got. */
export const loopbackCallback = async (): Promise<LoopbackCallback> => {
  const received: URL[] = [];
  let url = '';
  const server = http.createServer((request, response) => {
    const got = new URL(request.url ?? '/', url);
    if (got.pathname === '/callback') received.push(got); // not the browser's favicon probe
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>done</title><p>Signed in</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return { url, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
};

/**
 * A page that may not leave `origin` (no CDN, no fonts from elsewhere): requests elsewhere are blocked
 * and recorded in `offsite`; console errors and uncaught page errors are collected in `consoleErrors`.
 */
export const guardedPage = async (browser: Browser, origin: string) => {
  const offsite: string[] = [];
  const consoleErrors: string[] = [];
  const browserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await browserContext.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    offsite.push(url);
    return route.abort();
  });
  const page = await browserContext.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  return { page, offsite, consoleErrors };
};
