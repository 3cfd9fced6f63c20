// A real node:http relay on 127.0.0.1 (random port) that records every request and answers
// through a handler the test chooses, so it can misbehave in any way a relay does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after } from 'node:test';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Parsed JSON body, when it is JSON. */
  json: any;
  at: number;
}

export type Handler = (req: RecordedRequest, res: ServerResponse, n: number) => void | Promise<void>;

export interface TestServer {
  url: string;
  origin: string;
  requests: RecordedRequest[];
  /** Requests being served right now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  handler: Handler;
  close(): Promise<void>;
}

/** A chat completion as relays send it (the seed's example shape). */
export function completion(
  content: unknown,
  extra: { finish_reason?: string | null; message?: Record<string, unknown>; model?: string } = {},
) {
  return {
    id: 'chatcmpl-123',
    object: 'chat.completion',
    created: 1677652288,
    model: extra.model ?? 'claude-3-5-sonnet-20240620',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, ...extra.message },
        finish_reason: extra.finish_reason === undefined ? 'stop' : extra.finish_reason,
      },
    ],
    usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_test_1', ...headers });
  res.end(text);
}

/** Default behaviour: answer every chat request with a fixed description, and list two models. */
export const describeOk: Handler = (req, res) => {
  if (req.method === 'GET' && req.url.endsWith('/models')) {
    sendJson(res, 200, {
      object: 'list',
      data: [
        { id: 'gpt-4o', object: 'model' },
        { id: 'claude-3-5-sonnet-20240620', object: 'model' },
      ],
    });
    return;
  }
  sendJson(res, 200, completion('A boardwalk through a green marsh.'));
};

export async function startServer(handler: Handler = describeOk): Promise<TestServer> {
  const sockets = new Set<import('node:net').Socket>();
  const state: TestServer = {
    url: '',
    origin: '',
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    handler,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = createServer(async (req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on('close', () => state.inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
    state.requests.push(rec);
    try {
      await state.handler(rec, res, state.requests.length);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 599, { error: { message: `test handler failed: ${String(error)}` } });
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.url = state.origin;
  return state;
}

/** The image URLs of a chat request's last message, in the order sent. */
export function imageUrls(req: RecordedRequest): string[] {
  const content = req.json?.messages?.at(-1)?.content;
  return Array.isArray(content)
    ? content.filter((p: { type: string }) => p.type === 'image_url').map((p: { image_url: { url: string } }) => p.image_url.url)
    : [];
}

/** startServer for one test file: every server it starts is closed once the file's tests are done. */
export function serverPool(): (handler?: Handler) => Promise<TestServer> {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));
  return async (handler) => {
    const s = await startServer(handler);
    servers.push(s);
    return s;
  };
}
