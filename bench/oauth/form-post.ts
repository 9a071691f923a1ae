// One form POST (RFC 6749 §4.1.3 and friends: application/x-www-form-urlencoded) on the caller's agent,
// with node:http rather than fetch, so a load loop owns its keep-alive sockets and pays no undici cost
// that the server under test does not.
import http from 'node:http';

export type FormReply = { status: number; body: Record<string, unknown> };

export const postForm = (
  agent: http.Agent,
  url: URL,
  form: Record<string, string>,
  authorization?: string,
): Promise<FormReply> =>
  new Promise<FormReply>((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          ...(authorization ? { authorization } : {}),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
