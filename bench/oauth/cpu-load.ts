// Child process for bench/oauth/cpu.ts: closed loops of token requests against the URL it is sent, so the
// load generator's CPU is not counted in the server's. Each request's form comes from the task: the same
// one every time (client_credentials), one per request from a list (codes), or the connection's own
// refresh token, replaced by the one each answer rotates to.
import http from 'node:http';
import { postForm } from './form-post.ts';

export type CpuTask = {
  url: string;
  connections: number;
  seconds: number;
  authorization?: string;
  /** One form for every request, a list used up one per request, or one refresh form per connection. */
  forms: { every: Record<string, string> } | { once: Record<string, string>[] } | { rotate: Record<string, string>[] };
};
export type CpuResult = { requests: number; errors: number; seconds: number };

process.once('message', async (task: CpuTask) => {
  const url = new URL(task.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: task.connections });
  const forms = task.forms;
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + task.seconds * 1_000;
  await Promise.all(
    Array.from({ length: task.connections }, async (_, worker) => {
      while (performance.now() < until) {
        const form = 'every' in forms ? forms.every : 'once' in forms ? forms.once.pop() : forms.rotate[worker];
        if (!form) return;
        const reply = await postForm(agent, url, form, task.authorization);
        requests += 1;
        if (reply.status !== 200) errors += 1;
        if ('rotate' in forms && typeof reply.body.refresh_token === 'string')
          forms.rotate[worker] = { ...form, refresh_token: reply.body.refresh_token };
      }
    }),
  );
  const result: CpuResult = { requests, errors, seconds: (performance.now() - started) / 1_000 };
  process.send!(result, () => process.exit(0));
});
