// `imgdesc mcp` driven by real MCP clients nobody here wrote: the SDK's own Client, and the MCP
// Inspector's CLI mode; against a relay on 127.0.0.1 that records what it received. Most sessions run
// `imgdesc mcp` in this process (`main` with a live stdin and stdout, the same newline-delimited
// JSON-RPC the SDK's stdio transports speak); what needs a process is spawned from the built bin:
// the SDK's StdioClientTransport, a raw session on real stdio, an exit code and the Inspector.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ListRootsRequestSchema, type CallToolResult, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BIN, ROOT, TOKEN, cliEnv, fixture, noFixtures, relayEnv, run, tempDir } from '../helpers/cli.ts';
import { VISION_MODELS } from '../helpers/relays.ts';
import { completion, imageUrls, sendJson, startServer, type RecordedRequest, type TestServer } from '../helpers/server.ts';

let relay: TestServer;
/** Requests the relay holds open until the test releases them; `closed` once the client hung up. */
const held: { req: RecordedRequest; res: ServerResponse; closed: boolean }[] = [];
let rateLimitOnce = false;

function userText(req: RecordedRequest): string {
  const content = req.json?.messages?.at(-1)?.content;
  return Array.isArray(content)
    ? content
        .filter((p: { type: string }) => p.type === 'text')
        .map((p: { text: string }) => p.text)
        .join('\n')
    : '';
}

before(async () => {
  relay = await startServer((req, res) => {
    if (req.method === 'GET' && req.url === '/img.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(readFileSync(fixture('jpeg-filetype.jpg')));
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      sendJson(res, 401, { error: { message: '无效的令牌 (request id: 2025)', type: 'one_api_error' } });
      return;
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [...VISION_MODELS, 'text-embedding-3-small'].map((id) => ({ id, object: 'model' })) });
      return;
    }
    const text = userText(req);
    const model = String(req.json?.model);
    if (text.includes('HOLD')) {
      const h = { req, res, closed: false };
      res.on('close', () => {
        h.closed = true;
      });
      held.push(h);
      return;
    }
    if (text.includes('RATE') && !rateLimitOnce) {
      rateLimitOnce = true;
      sendJson(res, 429, { error: { message: 'too many requests', type: 'rate_limit' } }, { 'retry-after-ms': '20' });
      return;
    }
    if (req.json?.response_format || text.includes('JSON')) {
      sendJson(res, 200, completion('{"caption":"a marsh","tags":["grass","water"]}', { model }));
      return;
    }
    sendJson(res, 200, completion(`I see ${imageUrls(req).length} image(s).`, { model }));
  });
});
after(async () => {
  for (const h of held) h.res.destroy();
  await relay.close();
});

interface Session {
  client: Client;
  stderr: () => string;
  close: () => Promise<void>;
}

type ConnectOptions = { args?: string[]; env?: Record<string, string | undefined>; cwd?: string; roots?: () => string[] };

/** The SDK's Client for a session, answering roots/list when `roots` is given. */
async function clientOn(transport: Transport, opts: ConnectOptions): Promise<Client> {
  const client = new Client(
    { name: 'imgdesc-test', version: '1.0.0' },
    { capabilities: opts.roots ? { roots: { listChanged: true } } : {} },
  );
  const roots = opts.roots;
  if (roots)
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: roots().map((d) => ({ uri: pathToFileURL(d).href, name: d })),
    }));
  await client.connect(transport);
  return client;
}

/** Spawns `imgdesc mcp` from the built bin and connects the SDK's Client to it over StdioClientTransport. */
async function spawned(opts: ConnectOptions = {}): Promise<Session> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...(opts.args ?? [])],
    env: cliEnv(relayEnv(relay.url, opts.env)),
    cwd: opts.cwd ?? ROOT,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const client = await clientOn(transport, opts);
  return { client, stderr: () => err, close: () => client.close() };
}

/**
 * Runs `imgdesc mcp` in this process (the CLI's `main`, settings from the same env and flags) and
 * connects the SDK's Client to its stdin and stdout, framed as the SDK's stdio transports frame
 * them. Closing the session ends the server's stdin; it returns once the server has ended, exit 0.
 */
async function connect(opts: ConnectOptions = {}): Promise<Session> {
  const stdin = new PassThrough();
  const fromServer = new ReadBuffer();
  let ended = false;
  const end = () => {
    if (!ended) transport.onclose?.();
    ended = true;
  };
  const transport: Transport = {
    async start() {},
    async send(message: JSONRPCMessage) {
      stdin.write(serializeMessage(message));
    },
    async close() {
      stdin.end();
      // It ends once its stdin has (answering what was asked first); one that does not is stopped
      // as Ctrl-C stops it, and the exit code below fails the test instead of hanging the run.
      const timer = setTimeout(() => stop?.abort(), 15_000);
      const r = await served.finally(() => clearTimeout(timer));
      end();
      assert.equal(r.code, 0, r.stderr);
    },
  };
  let stop: AbortController | undefined;
  const served = run(['mcp', ...(opts.args ?? [])], {
    cwd: opts.cwd ?? ROOT,
    env: relayEnv(relay.url, opts.env),
    onStart: (interrupt) => {
      stop = interrupt;
    },
    stdin,
    onStdout: (chunk) => {
      fromServer.append(chunk);
      for (let m = fromServer.readMessage(); m; m = fromServer.readMessage()) transport.onmessage?.(m);
    },
  });
  let stderr = '';
  // A server that ends on its own (a bad flag, no relay settings) ends the session: no hang.
  served.then((r) => {
    stderr = r.stderr;
    end();
  }, end);
  const client = await clientOn(transport, opts);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** What imgdesc put in a result's _meta. */
const meta = (r: CallToolResult) => (r._meta?.imgdesc ?? {}) as Record<string, unknown>;
const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;
const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), `waited for ${what}`);
};

test('initialize and tools/list: three tools with JSON schemas and descriptions', async () => {
  // the SDK's StdioClientTransport spawning the built bin (the other Client sessions run in this process)
  const s = await spawned();
  try {
    assert.equal(s.client.getServerVersion()?.name, 'imgdesc');
    assert.match(s.client.getInstructions() ?? '', /describe_image/);
    const { tools } = await s.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['compare_images', 'describe_image', 'list_models']);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const describe = byName.describe_image;
    assert.ok(describe);
    assert.deepEqual(describe.inputSchema.required, ['image']);
    assert.deepEqual(Object.keys(describe.inputSchema.properties ?? {}).sort(), [
      'detail',
      'image',
      'max_tokens',
      'model',
      'prompt',
      'schema',
    ]);
    const compare = byName.compare_images?.inputSchema.properties?.images as { minItems: number; maxItems: number };
    assert.deepEqual([compare.minItems, compare.maxItems], [2, 8]);
    assert.ok(byName.list_models?.outputSchema, 'list_models declares its output');
    for (const t of tools) assert.ok((t.description ?? '').length > 80, `${t.name} says when to use it`);
  } finally {
    await s.close();
  }
});

test('describe_image: the image prepared exactly as describe prepares it; model and usage in _meta', { skip: noFixtures }, async () => {
  const dir = tempDir('imgdesc-mcp-');
  // a TIFF, converted before it is sent (a small one: 1800x1200 photos cost ~0.4 s of CPU more here)
  copyFileSync(fixture('tiff-big-endian.tif'), join(dir, 'photo.tif'));
  const s = await connect({ cwd: dir });
  try {
    const before = relay.requests.length;
    const r = (await s.client.callTool({
      name: 'describe_image',
      arguments: { image: 'photo.tif', prompt: 'what is it?', max_tokens: 300 },
    })) as CallToolResult;
    assert.equal(r.isError, undefined);
    assert.equal(text(r), 'I see 1 image(s).');
    const meta = r._meta?.imgdesc as { model: string; usage: { total_tokens: number }; attempts: number };
    assert.equal(meta.model, 'claude-3-5-sonnet-20240620');
    assert.equal(meta.usage.total_tokens, 21);
    const sent = relay.requests.slice(before).filter((q) => q.method === 'POST');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.json.max_tokens, 300);
    assert.equal(userText(sent[0] as RecordedRequest), 'what is it?');

    // the CLI, same file, same settings: the same bytes go out
    const cli = await run(['describe', 'photo.tif', 'what is it?', '--max-tokens', '300'], { cwd: dir, env: relayEnv(relay.url) });
    assert.equal(cli.code, 0, cli.stderr);
    const cliBody = relay.requests.at(-1) as RecordedRequest;
    const [mcpUrl] = imageUrls(sent[0] as RecordedRequest);
    const [cliUrl] = imageUrls(cliBody);
    assert.match(mcpUrl ?? '', /^data:image\/(jpeg|png|webp);base64,/, 'converted from TIFF');
    assert.ok(mcpUrl === cliUrl, 'the same prepared image');
  } finally {
    await s.close();
  }
});

test('describe_image with a schema: the validated answer as structuredContent; a short form works too', { skip: noFixtures }, async () => {
  const s = await connect({ args: ['--allow-dir', join(ROOT, '..', 'shared')] });
  try {
    const schema = {
      type: 'object',
      properties: { caption: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['caption', 'tags'],
    };
    const r = (await s.client.callTool({
      name: 'describe_image',
      arguments: { image: fixture('jpeg-filetype.jpg'), schema },
    })) as CallToolResult;
    assert.equal(r.isError, undefined, text(r));
    assert.deepEqual(r.structuredContent, { caption: 'a marsh', tags: ['grass', 'water'] });
    assert.deepEqual(JSON.parse(text(r)), r.structuredContent);
    const short = (await s.client.callTool({
      name: 'describe_image',
      arguments: { image: fixture('jpeg-filetype.jpg'), schema: 'caption, tags string[]' },
    })) as CallToolResult;
    assert.deepEqual(short.structuredContent, { caption: 'a marsh', tags: ['grass', 'water'] });
    // an answer that breaks the schema is an error, not a crash
    const bad = (await s.client.callTool({
      name: 'describe_image',
      arguments: { image: fixture('jpeg-filetype.jpg'), schema: 'caption int' },
    })) as CallToolResult;
    assert.equal(bad.isError, true);
  } finally {
    await s.close();
  }
});

test('compare_images sends every image in one request; list_models marks the model in use', { skip: noFixtures }, async () => {
  const s = await connect({ args: ['--allow-dir', join(ROOT, '..', 'shared')] });
  try {
    const before = relay.requests.length;
    const r = (await s.client.callTool({
      name: 'compare_images',
      arguments: {
        images: [fixture('jpeg-filetype.jpg'), fixture('png-filetype.png'), fixture('gif-static.gif')],
        prompt: 'which is sharpest?',
      },
    })) as CallToolResult;
    assert.equal(text(r), 'I see 3 image(s).');
    assert.equal(relay.requests.slice(before).filter((q) => q.method === 'POST').length, 1);
    const tooFew = (await s.client.callTool({
      name: 'compare_images',
      arguments: { images: [fixture('jpeg-filetype.jpg')], prompt: 'x' },
    })) as CallToolResult;
    assert.equal(tooFew.isError, true);
    assert.match(text(tooFew), /images/);

    const models = (await s.client.callTool({ name: 'list_models', arguments: {} })) as CallToolResult;
    assert.equal(models.isError, undefined, text(models));
    const sc = models.structuredContent as { models: { id: string; in_use: boolean }[]; in_use: string; listed: number };
    assert.equal(sc.listed, 4);
    assert.ok(!sc.models.some((m) => m.id === 'text-embedding-3-small'), 'not a vision model');
    for (const id of VISION_MODELS) assert.ok(sc.models.some((m) => m.id === id));
    // the tests' model is set but not in this relay's list
    assert.equal(sc.in_use, 'claude-3-5-sonnet-20240620');
    assert.match(text(models), /in use: claude-3-5-sonnet-20240620 \(not in the relay's list\)/);
  } finally {
    await s.close();
  }
  const picked = await connect({ env: { IMGDESC_MODEL: undefined } });
  try {
    const models = (await picked.client.callTool({ name: 'list_models', arguments: {} })) as CallToolResult;
    const sc = models.structuredContent as { models: { id: string; in_use: boolean }[]; in_use: string };
    assert.equal(sc.in_use, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(
      sc.models.filter((m) => m.in_use).map((m) => m.id),
      ['claude-sonnet-4-5-20250929'],
    );
    assert.match(text(models), /^claude-sonnet-4-5-20250929 \(in use\)$/m);
  } finally {
    await picked.close();
  }
});

test('failures are tool results with the CLI line, and the server keeps serving', { skip: noFixtures }, async () => {
  const dir = tempDir('imgdesc-mcp-');
  copyFileSync(fixture('notimage-pdf.pdf'), join(dir, 'doc.pdf'));
  copyFileSync(fixture('jpeg-filetype.jpg'), join(dir, 'ok.jpg'));
  const s = await connect({ cwd: dir });
  const bad = await connect({ cwd: dir, env: { IMGDESC_TOKEN: 'sk-wrong-0000000000' } });
  try {
    for (const [image, args] of [
      ['missing.jpg', ['missing.jpg']],
      ['doc.pdf', ['doc.pdf']],
    ] as const) {
      const r = (await s.client.callTool({ name: 'describe_image', arguments: { image } })) as CallToolResult;
      assert.equal(r.isError, true);
      const cli = await run([...args], { cwd: dir, env: relayEnv(relay.url) });
      assert.equal(cli.code, 2);
      assert.equal(text(r), cli.stderr.trim(), 'the same line as the CLI');
      assert.equal(meta(r).exit_code, 2);
    }
    const refused = (await bad.client.callTool({ name: 'describe_image', arguments: { image: 'ok.jpg' } })) as CallToolResult;
    assert.equal(refused.isError, true);
    const cli = await run(['ok.jpg'], { cwd: dir, env: relayEnv(relay.url, { IMGDESC_TOKEN: 'sk-wrong-0000000000' }) });
    assert.equal(cli.code, 3);
    assert.equal(text(refused), cli.stderr.trim());
    assert.ok(!text(refused).includes('sk-wrong-0000000000'));
    // stdin is the protocol channel; other schemes are not read
    for (const image of ['-', 'ftp://example.com/a.jpg']) {
      const r = (await s.client.callTool({ name: 'describe_image', arguments: { image } })) as CallToolResult;
      assert.equal(r.isError, true);
      assert.match(text(r), /give a file path, an http\(s\) URL or a data: URL/);
    }
    const ok = (await s.client.callTool({ name: 'describe_image', arguments: { image: 'ok.jpg' } })) as CallToolResult;
    assert.equal(text(ok), 'I see 1 image(s).');
  } finally {
    await s.close();
    await bad.close();
  }
});

test('a 429 is retried as the CLI retries it, with a progress notification', { skip: noFixtures }, async () => {
  const s = await connect({ args: ['--allow-dir', join(ROOT, '..', 'shared')] });
  try {
    const messages: string[] = [];
    const r = (await s.client.callTool(
      { name: 'describe_image', arguments: { image: fixture('jpeg-filetype.jpg'), prompt: 'RATE' } },
      undefined,
      {
        onprogress: (p) => messages.push(p.message ?? ''),
      },
    )) as CallToolResult;
    assert.equal(r.isError, undefined, text(r));
    assert.equal(meta(r).attempts, 2);
    assert.ok(
      messages.some((m) => /HTTP 429; retrying in .* \(attempt 2 of 3\)/.test(m)),
      messages.join(' | '),
    );
    assert.ok(
      messages.some((m) => m.startsWith('asking ')),
      messages.join(' | '),
    );
  } finally {
    await s.close();
  }
});

test('cancellation aborts the request in flight (the relay sees the connection close); a long call sends progress', {
  skip: noFixtures,
}, async () => {
  const s = await connect({ args: ['--allow-dir', join(ROOT, '..', 'shared')] });
  try {
    const ac = new AbortController();
    const pending = s.client.callTool(
      { name: 'describe_image', arguments: { image: fixture('jpeg-filetype.jpg'), prompt: 'HOLD 1' } },
      undefined,
      {
        signal: ac.signal,
      },
    );
    await until('the relay to hold the request', () => held.some((h) => userText(h.req) === 'HOLD 1'));
    ac.abort();
    await assert.rejects(pending);
    const h = held.find((x) => userText(x.req) === 'HOLD 1');
    await until('the relay to see the connection close', () => h?.closed === true);

    // still serving; a call the relay holds gets a progress notification while it waits
    const heartbeats: string[] = [];
    const slow = s.client.callTool(
      { name: 'describe_image', arguments: { image: fixture('jpeg-filetype.jpg'), prompt: 'HOLD 2' } },
      undefined,
      {
        onprogress: (p) => {
          if (/\(\d+ s\)$/.test(p.message ?? '')) heartbeats.push(p.message ?? '');
        },
      },
    );
    await until('a progress notification while the relay holds the call', () => heartbeats.length > 0);
    const h2 = held.find((x) => userText(x.req) === 'HOLD 2');
    h2?.res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion('Finally.')));
    assert.equal(text(await slow), 'Finally.');
    assert.match(heartbeats[0] ?? '', /^asking claude-3-5-sonnet-20240620 \(\d+ s\)$/);
  } finally {
    await s.close();
  }
});

test('paths: confined to the client roots (realpath, list_changed), else to the start folder and --allow-dir', {
  skip: noFixtures,
}, async () => {
  const base = realpathSync(tempDir('imgdesc-mcp-roots-'));
  const a = join(base, 'a');
  const b = join(base, 'b');
  mkdirSync(a);
  mkdirSync(b);
  copyFileSync(fixture('jpeg-filetype.jpg'), join(a, 'in.jpg'));
  copyFileSync(fixture('jpeg-filetype.jpg'), join(b, 'out.jpg'));
  symlinkSync(join(b, 'out.jpg'), join(a, 'link.jpg'));
  const call = async (s: Session, image: string) =>
    (await s.client.callTool({ name: 'describe_image', arguments: { image } })) as CallToolResult;

  let roots = [a];
  const s = await connect({ cwd: base, roots: () => roots });
  try {
    assert.equal(text(await call(s, join(a, 'in.jpg'))), 'I see 1 image(s).');
    assert.equal(text(await call(s, 'in.jpg')), 'I see 1 image(s).', 'relative to the first root');
    assert.equal(text(await call(s, pathToFileURL(join(a, 'in.jpg')).href)), 'I see 1 image(s).');
    for (const image of [join(b, 'out.jpg'), join(a, 'link.jpg'), join(a, '..', 'b', 'out.jpg')]) {
      const r = await call(s, image);
      assert.equal(r.isError, true, image);
      assert.equal(
        text(r),
        `error: ${image}: outside the client's roots (${a}); only files under the roots the client declares can be read`,
      );
    }
    roots = [b];
    await s.client.sendRootsListChanged();
    assert.equal(text(await call(s, join(b, 'out.jpg'))), 'I see 1 image(s).');
    assert.equal((await call(s, join(a, 'in.jpg'))).isError, true);
  } finally {
    await s.close();
  }

  const own = await connect({ cwd: a });
  try {
    assert.equal(text(await call(own, 'in.jpg')), 'I see 1 image(s).');
    const r = await call(own, join(b, 'out.jpg'));
    assert.match(text(r), /outside the folders this server may read \(.*\): the folder imgdesc mcp started in and each --allow-dir/);
    assert.equal((await call(own, 'link.jpg')).isError, true, 'a symlink out of the folder is outside');
  } finally {
    await own.close();
  }
  const allowed = await connect({ cwd: a, args: ['--allow-dir', b] });
  try {
    assert.equal(text(await call(allowed, join(b, 'out.jpg'))), 'I see 1 image(s).');
    assert.equal(text(await call(allowed, 'link.jpg')), 'I see 1 image(s).');
  } finally {
    await allowed.close();
  }
});

/** Runs a command to its end: what it printed, and its exit code. */
function finished(cmd: string[], opts: { cwd: string; env: Record<string, string>; input?: string }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd[0] ?? '', cmd.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Spawns `imgdesc mcp`, writes `lines` and closes stdin. */
function rawSession(args: string[], lines: unknown[], env: Record<string, string | undefined>) {
  const input = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
  return finished([process.execPath, BIN, 'mcp', ...args], { cwd: ROOT, env: cliEnv(env), input });
}

test('image URLs get the address checks of the CLI: a loopback URL is refused unless --allow-private-urls', {
  skip: noFixtures,
}, async () => {
  const url = `${relay.url}/img.jpg`;
  const s = await connect();
  const open = await connect({ args: ['--allow-private-urls'] });
  try {
    const fetched = () => relay.requests.filter((q) => q.url === '/img.jpg').length;
    const before = fetched();
    const r = (await s.client.callTool({ name: 'describe_image', arguments: { image: url } })) as CallToolResult;
    assert.equal(r.isError, true);
    const cli = await run([url], { env: relayEnv(relay.url) });
    assert.notEqual(cli.code, 0);
    assert.equal(text(r), cli.stderr.trim(), 'the same line as the CLI');
    assert.match(text(r), /--allow-private-urls/);
    assert.equal(meta(r).exit_code, cli.code);
    assert.equal(fetched(), before, 'nothing fetched');
    const ok = (await open.client.callTool({ name: 'describe_image', arguments: { image: url } })) as CallToolResult;
    assert.equal(text(ok), 'I see 1 image(s).');
    assert.equal(fetched(), before + 1);
  } finally {
    await s.close();
    await open.close();
  }
});

test('stdout carries JSON-RPC only, even with -v; a closed stdin ends the session after the answers', { skip: noFixtures }, async () => {
  const init = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };
  const image = fixture('jpeg-filetype.jpg');
  const lines = [
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: init },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'describe_image', arguments: { image } } },
    { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'describe_image', arguments: { image: 'nope.png' } } },
    { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'list_models', arguments: {} } },
    { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } },
  ];
  const r = await rawSession(['-v', '--allow-dir', join(ROOT, '..', 'shared')], lines, relayEnv(relay.url, { IMGDESC_MODEL: undefined }));
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split('\n').filter((l) => l !== '');
  const ids: unknown[] = [];
  for (const line of out) {
    const msg = JSON.parse(line);
    assert.equal(msg.jsonrpc, '2.0', line);
    ids.push(msg.id);
  }
  assert.ok(r.stdout.endsWith('\n'));
  assert.deepEqual(ids.sort(), [1, 2, 3, 4, 5, 6], 'every request answered before the exit');
  // -v had things to say, all on stderr: the start, each call, the model picked
  assert.match(r.stderr, /serving MCP on stdio/);
  assert.match(r.stderr, /describe_image .*jpeg-filetype\.jpg: ok, model claude-sonnet-4-5-20250929, 21 tokens/);
  assert.match(r.stderr, /describe_image nope\.png: error: nope\.png: no such file/);
  assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
});

test('no base URL or no token: one line on stderr, exit 3, nothing on stdout', async () => {
  const noBase = await rawSession([], [], { IMGDESC_TOKEN: TOKEN });
  assert.equal(noBase.code, 3);
  assert.equal(noBase.stdout, '');
  assert.match(noBase.stderr, /^error: no base URL configured\nhint: .*\n$/);
  // the same through main in this process (the spawned case above proves the process's exit code)
  const noToken = await run(['mcp'], { env: { IMGDESC_BASE_URL: relay.url } });
  assert.equal(noToken.code, 3);
  assert.equal(noToken.stdout, '');
  assert.match(noToken.stderr, /^error: no API token configured\nhint: .*\n$/);
  const badDir = await run(['mcp', '--allow-dir', '/no/such/dir'], { env: relayEnv(relay.url) });
  assert.equal(badDir.code, 2);
  assert.equal(badDir.stderr, 'error: --allow-dir /no/such/dir: no such folder\n');
});

test('the MCP Inspector CLI lists the tools and calls one', { skip: noFixtures }, async () => {
  // build/index.js is the CLI mode itself: cli.js (the `--cli` launcher) only spawns it with the same
  // arguments, one process more per call.
  const inspector = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build', 'index.js');
  const env = cliEnv(relayEnv(relay.url));
  // The inspector finds its package.json (for its client name) by a path tried from the working
  // folder: its build folder is where that works.
  const cwd = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build');
  const inspect = (args: string[]) =>
    finished([process.execPath, inspector, process.execPath, BIN, 'mcp', '--allow-dir', join(ROOT, '..', 'shared'), ...args], {
      cwd,
      env,
    });
  // two independent sessions: run side by side
  const [list, called] = await Promise.all([
    inspect(['--method', 'tools/list']),
    inspect([
      '--method',
      'tools/call',
      '--tool-name',
      'describe_image',
      '--tool-arg',
      `image=${fixture('jpeg-filetype.jpg')}`,
      'prompt=count',
    ]),
  ]);
  assert.equal(list.code, 0, list.stderr);
  const tools = JSON.parse(list.stdout).tools as { name: string }[];
  assert.deepEqual(tools.map((t) => t.name).sort(), ['compare_images', 'describe_image', 'list_models']);
  assert.equal(called.code, 0, called.stderr);
  const result = JSON.parse(called.stdout);
  assert.equal(result.content[0].text, 'I see 1 image(s).');
  assert.equal(result._meta.imgdesc.model, 'claude-3-5-sonnet-20240620');
});

test('no other command loads the MCP SDK: it is reached from the program only through import()', () => {
  const dist = join(ROOT, 'dist');
  const staticImports = (file: string) =>
    [...readFileSync(file, 'utf8').matchAll(/^import\s(?:[^;]*?\sfrom\s)?"(\.[^"]+)";?$/gm)].map((m) => join(dirname(file), m[1] ?? ''));
  const program = readdirSync(join(dist, 'chunks')).find((f) => /^main-.*\.js$/.test(f));
  assert.ok(program, 'the program chunk');
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const f of staticImports(file)) walk(f);
  };
  for (const entry of [join(dist, 'main.js'), join(dist, 'plain.cjs'), join(dist, 'chunks', program)]) walk(entry);
  assert.ok(seen.size > 5, `walked ${seen.size} files`);
  const sdk = readdirSync(join(dist, 'chunks')).filter((f) =>
    readFileSync(join(dist, 'chunks', f), 'utf8').includes('notifications/roots/list_changed'),
  );
  assert.ok(sdk.length > 0, 'the SDK is in a chunk of its own');
  for (const f of seen) assert.ok(!readFileSync(f, 'utf8').includes('notifications/roots/list_changed'), `${f} does not load the SDK`);
});

test('a repeated describe_image is answered from the answer cache (_meta cached) and both calls are in the history', {
  skip: noFixtures,
}, async () => {
  const dir = tempDir('imgdesc-mcp-');
  copyFileSync(fixture('gif-filetype.gif'), join(dir, 'cat.gif'));
  const state = tempDir('imgdesc-mcp-state-');
  const s = await connect({ cwd: dir, env: { XDG_CACHE_HOME: tempDir('imgdesc-mcp-cache-'), XDG_STATE_HOME: state } });
  try {
    const before = relay.requests.filter((q) => q.method === 'POST').length;
    const ask = async () =>
      (await s.client.callTool({ name: 'describe_image', arguments: { image: 'cat.gif', prompt: 'which cat?' } })) as CallToolResult;
    const first = await ask();
    const second = await ask();
    assert.equal(text(second), text(first));
    assert.equal(meta(first).cached, undefined);
    assert.equal(meta(second).cached, true);
    assert.deepEqual(meta(second).usage, meta(first).usage);
    assert.equal(relay.requests.filter((q) => q.method === 'POST').length - before, 1, 'one request for two calls');
    const log = await run(['log', '--json'], { env: { XDG_STATE_HOME: state } });
    const records = log.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      records.map((r) => [r.command, r.image, r.path, r.prompt, r.cached === true, r.answer]),
      [
        ['mcp', 'cat.gif', join(realpathSync(dir), 'cat.gif'), 'which cat?', false, 'I see 1 image(s).'],
        ['mcp', 'cat.gif', join(realpathSync(dir), 'cat.gif'), 'which cat?', true, 'I see 1 image(s).'],
      ],
    );
  } finally {
    await s.close();
  }
});
