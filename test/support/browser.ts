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
