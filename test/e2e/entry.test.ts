// The fast forms (`imgdesc <image> [prompt]` in the entry, --version and --help in the bin) do what
// the commander program does with the same argv: same exit code, output and request.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { plainDescribe } from '../../src/cli/route.ts';
import { ROOT, relayEnv, run, runCli, tempDir } from '../helpers/cli.ts';
import { describeOk, sendJson, startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const work = tempDir();

before(async () => {
  server = await startServer();
  writeFileSync(
    join(work, 'photo.png'),
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#a73' } })
      .png()
      .toBuffer(),
  );
  writeFileSync(join(work, 'notes.txt'), 'not a picture\n');
  mkdirSync(join(work, 'folder.d'));
});
after(() => server.close());

const plain = (image: string, prompt?: string, switches: { json?: boolean; raw?: boolean } = {}) => ({
  image,
  prompt,
  json: switches.json ?? false,
  raw: switches.raw ?? false,
});

test('plainDescribe: which argv the entry runs without commander', () => {
  const cases: Array<[string[], ReturnType<typeof plainDescribe>]> = [
    [['photo.jpg'], plain('photo.jpg')],
    [['./cat', 'what breed?'], plain('./cat', 'what breed?')],
    [['-', 'caption this'], plain('-', 'caption this')],
    [['https://x.test/a.png'], plain('https://x.test/a.png')],
    [['photo.jpg', 'batch'], plain('photo.jpg', 'batch')],
    [['--json', 'photo.jpg'], plain('photo.jpg', undefined, { json: true })],
    [['photo.jpg', 'what?', '--json'], plain('photo.jpg', 'what?', { json: true })],
    [['photo.jpg', '--raw', 'what?'], plain('photo.jpg', 'what?', { raw: true })],
    [['--raw', '--json', 'photo.jpg', '--json'], plain('photo.jpg', undefined, { json: true, raw: true })],
    [['photo.jpg', '--', '--json'], null], // a prompt after --: the program's
    [['--json'], null],
    [['--json', 'batch'], null],
    [['photo.jpg', '--json=1'], null],
    [['photo.jpg', '-q'], null],
    [[], null],
    [['batch'], null], // a command
    [['bacth'], null], // a typo of one: commander's hint
    [['cat'], null], // a bare word could be either
    [['--version'], null],
    [['-h'], null],
    [['photo.jpg', '-v'], null],
    [['-m', 'x', 'photo.jpg'], null],
    [['photo.jpg', 'a', 'b'], null],
  ];
  for (const [argv, want] of cases) assert.deepEqual(plainDescribe(argv), want, argv.join(' '));
});

test('the fast forms and the program give the same result', async () => {
  const forms: Array<{ args: string[]; input?: string; env?: Record<string, string | undefined> }> = [
    { args: ['photo.png'] },
    { args: ['photo.png', 'what colour is it?'] },
    { args: ['-', 'from stdin'], input: 'not an image' },
    { args: ['missing.jpg'] },
    { args: ['folder.d'] },
    { args: ['notes.txt'] },
    { args: ['photo.png'], env: { IMGDESC_TOKEN: undefined } },
    { args: ['photo.png', 'batch'] },
    { args: ['--json', 'photo.png'] },
    { args: ['photo.png', 'what colour is it?', '--json'] },
    { args: ['photo.png', '--raw'] },
    { args: ['--raw', 'photo.png', '--json'] },
    { args: ['missing.jpg', '--json'] },
    { args: ['photo.png', '--json'], env: { IMGDESC_TOKEN: undefined } },
  ];
  for (const f of forms) {
    const results = [];
    for (const program of [false, true]) {
      server.requests.length = 0;
      const r = await run(f.args, {
        cwd: work,
        env: { ...relayEnv(server.url), ...f.env },
        program,
        ...(f.input !== undefined ? { input: f.input } : {}),
      });
      results.push({ code: r.code, stdout: r.stdout, stderr: r.stderr, requests: server.requests.map((q) => q.json) });
    }
    assert.deepEqual(results[0], results[1], f.args.join(' '));
  }
});

test('an error answer through the fast form is reported as by the program', async () => {
  server.handler = (_req, res) => sendJson(res, 401, { error: { message: 'invalid token', type: 'invalid_request_error' } });
  try {
    const fast = await run(['photo.png'], { cwd: work, env: relayEnv(server.url) });
    const program = await run(['photo.png'], { cwd: work, env: relayEnv(server.url), program: true });
    assert.equal(fast.code, 3);
    assert.deepEqual({ code: fast.code, stderr: fast.stderr }, { code: program.code, stderr: program.stderr });
  } finally {
    server.handler = describeOk;
  }
});

test('the built bin answers --version and --help as the program does', async () => {
  // the sources say 0.0.0-dev; the build puts package.json's version in
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  // four separate processes, side by side
  const [help, h, long, short] = await Promise.all(['--help', '-h', '--version', '-V'].map((flag) => runCli([flag])));
  for (const [flag, built] of [
    ['--help', help],
    ['-h', h],
  ] as const) {
    assert.equal(built?.code, 0, flag);
    assert.match(built?.stdout ?? '', /^Usage: imgdesc/);
    assert.equal(built?.stdout, (await run([flag], { program: true })).stdout);
  }
  for (const r of [long, short]) {
    assert.deepEqual({ code: r?.code, stdout: r?.stdout, stderr: r?.stderr }, { code: 0, stdout: `${version}\n`, stderr: '' });
  }
});

test('the built bin runs a plain describe (dist/plain.cjs) as the program does', async () => {
  for (const args of [['photo.png', 'what colour is it?'], ['missing.jpg'], ['notes.txt'], ['--json', 'photo.png']]) {
    const results = [];
    for (const built of [true, false]) {
      server.requests.length = 0;
      const opts = { cwd: work, env: relayEnv(server.url) };
      const r = built ? await runCli(args, opts) : await run(args, { ...opts, program: true });
      results.push({ code: r.code, stdout: r.stdout, stderr: r.stderr, requests: server.requests.map((q) => q.json) });
    }
    assert.deepEqual(results[0], results[1], args.join(' '));
  }
});

test('what a run loads: a plain describe no undici at all, a batch not Node’s own (node:http’s WebSocket, globalThis.Headers)', async () => {
  // An ESM import of node:http evaluates every export on Node 22 and later, and its WebSocket getter
  // loads Node's bundled undici; so does reading globalThis.Headers (undici's index does, for its
  // cookies): about 20 ms of a start each. Seen from inside the process at exit.
  const seen = join(tempDir(), 'loaded.json');
  const preload = join(tempDir(), 'loaded.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
  );
  const loaded = async (args: string[]) => {
    const r = await runCli(args, { cwd: work, env: relayEnv(server.url, { NODE_OPTIONS: `--require ${preload}` }) });
    assert.equal(r.code, 0, r.stderr);
    const l = JSON.parse(readFileSync(seen, 'utf8')) as { builtins: string[]; files: string[] };
    assert.ok(
      l.files.some((f) => f.endsWith('route.cjs')),
      'the preload saw the process',
    );
    return { node: l.builtins.filter((m) => m.includes('undici')), npm: l.files.filter((f) => f.includes(join('node_modules', 'undici'))) };
  };
  assert.deepEqual(await loaded(['photo.png']), { node: [], npm: [] });
  const batch = join(tempDir(), 'one');
  mkdirSync(batch);
  writeFileSync(join(batch, 'photo.png'), readFileSync(join(work, 'photo.png')));
  // (the batch's undici is bundled into dist/, so not seen among the files required)
  assert.deepEqual((await loaded(['batch', batch, '-q', '-o', join(batch, 'out.jsonl')])).node, []);
});
