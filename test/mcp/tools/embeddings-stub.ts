// A local stand-in for an OpenAI-compatible embeddings API: deterministic vectors where synonyms share a
// dimension (so "feline" is close to "kitten" without sharing a word), other words hash into the rest.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CONCEPTS: string[][] = [
  ['cat', 'cats', 'kitten', 'kittens', 'feline', 'felines', 'tabby'],
  ['dog', 'dogs', 'puppy', 'canine', 'hound'],
  ['car', 'cars', 'vehicle', 'automobile', 'sedan'],
  ['rain', 'storm', 'weather', 'drizzle'],
];
export const DIMENSIONS = 16;

export const stubVector = (text: string): number[] => {
  const vector = new Array<number>(DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const concept = CONCEPTS.findIndex((words) => words.includes(word));
    if (concept >= 0) vector[concept]! += 3;
    else
      vector[
        CONCEPTS.length +
          ([...word].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % (DIMENSIONS - CONCEPTS.length))
      ]! += 0.2;
  }
  return vector;
};

export type EmbeddingsStub = {
  url: string;
  requests: { model: string; input: string[]; authorization: string | undefined }[];
  failing: boolean;
  close(): Promise<void>;
};

export const startEmbeddingsStub = async (): Promise<EmbeddingsStub> => {
  const stub: EmbeddingsStub = { url: '', requests: [], failing: false, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (req.url !== '/v1/embeddings' || req.method !== 'POST' || stub.failing) {
        res.writeHead(stub.failing ? 503 : 404).end();
        return;
      }
      const parsed = JSON.parse(body) as { model: string; input: string[] };
      stub.requests.push({ ...parsed, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          model: parsed.model,
          data: parsed.input.map((text, index) => ({ object: 'embedding', index, embedding: stubVector(text) })),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  stub.close = () => new Promise((resolve) => server.close(() => resolve()));
  return stub;
};
