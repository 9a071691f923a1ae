// A small browser-like HTTP client for the admin tests: a cookie jar, same-origin headers, CSRF fields.
import { CookieJar, csrfOf } from '../../support/browser.ts';
export type Reply = { status: number; headers: Headers; text: string; location: string | null; setCookies: string[] };

export class AdminClient extends CookieJar {
  constructor(
    readonly base: string,
    readonly origin = base,
  ) {
    super();
  }

  async get(path: string, accept = 'text/html'): Promise<Reply> {
    const response = await fetch(`${this.base}${path}`, {
      redirect: 'manual',
      headers: { accept, cookie: this.cookieHeader() },
    });
    const setCookies = this.remember(response);
    return {
      status: response.status,
      headers: response.headers,
      text: await response.text(),
      location: response.headers.get('location'),
      setCookies,
    };
  }

  async post(
    path: string,
    form: Record<string, string>,
    options: { origin?: string | null; accept?: string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: options.accept ?? 'text/html',
      cookie: this.cookieHeader(),
    };
    const origin = options.origin === undefined ? this.origin : options.origin;
    if (origin) headers.origin = origin;
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers,
      body: new URLSearchParams(form).toString(),
    });
    const setCookies = this.remember(response);
    return {
      status: response.status,
      headers: response.headers,
      text: await response.text(),
      location: response.headers.get('location'),
      setCookies,
    };
  }

  /** The hidden `csrf` field of a page. */
  async csrf(path = '/admin/login'): Promise<string> {
    return csrfOf((await this.get(path)).text);
  }

  async login(email: string, password: string): Promise<Reply> {
    const csrf = await this.csrf('/admin/login');
    return this.post('/admin/login', { email, password, csrf });
  }
}
