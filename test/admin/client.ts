// A small browser-like HTTP client for the admin tests: a cookie jar, same-origin headers, CSRF fields.
export type Reply = { status: number; headers: Headers; text: string; location: string | null; setCookies: string[] };

export class AdminClient {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly origin = base,
  ) {}

  private remember(response: Response): string[] {
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

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(path: string, accept = 'text/html'): Promise<Reply> {
    const response = await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { accept, cookie: this.cookieHeader() } });
    const setCookies = this.remember(response);
    return { status: response.status, headers: response.headers, text: await response.text(), location: response.headers.get('location'), setCookies };
  }

  async post(path: string, form: Record<string, string>, options: { origin?: string | null; accept?: string } = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: options.accept ?? 'text/html', cookie: this.cookieHeader() };
    const origin = options.origin === undefined ? this.origin : options.origin;
    if (origin) headers.origin = origin;
    const response = await fetch(`${this.base}${path}`, { method: 'POST', redirect: 'manual', headers, body: new URLSearchParams(form).toString() });
    const setCookies = this.remember(response);
    return { status: response.status, headers: response.headers, text: await response.text(), location: response.headers.get('location'), setCookies };
  }

  /** The hidden `csrf` field of a page. */
  async csrf(path = '/admin/login'): Promise<string> {
    const page = await this.get(path);
    const match = /name="csrf" value="([^"]+)"/.exec(page.text);
    if (!match) throw new Error(`no csrf field on ${path} (status ${page.status})`);
    return match[1]!;
  }

  async login(email: string, password: string): Promise<Reply> {
    const csrf = await this.csrf('/admin/login');
    return this.post('/admin/login', { email, password, csrf });
  }
}
