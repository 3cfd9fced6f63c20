// Hostile text on its way to the terminal (issue 19, item 1): answers, relay messages, model ids,
// reasoning and file names carrying OSC 52 (clipboard), OSC 0 (title), CSI 2J (clear screen), C1
// and bidi controls. Plain answer output loses the sequences, stderr shows them escaped, JSON
// stays valid with C1/bidi escaped, and --raw keeps the answer byte for byte.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type Handler, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';

const ESC = '\x1b';
const BEL = '\x07';
const CLIPBOARD = `${ESC}]52;c;${Buffer.from('rm -rf ~').toString('base64')}${BEL}`;
const TITLE = `${ESC}]0;pwned${ESC}\\`;
const CLEAR = `${ESC}[2J${ESC}[H`;
const C1_CSI = '\x9b31m';
const BIDI = '\u202eevil\u202c';
const HOSTILE = `A cat${CLIPBOARD} on${TITLE} a mat.${CLEAR}${C1_CSI}\r${BIDI}`;

/** Bytes a terminal acts on: ESC, BEL, CSI (C1), any C1, DEL, the bidi overrides; CR. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function relay(handler: Handler): Promise<string> {
  const s = await startServer(handler);
  servers.push(s);
  return s.url;
}

async function png(path: string): Promise<string> {
  const buf = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .png()
    .toBuffer();
  writeFileSync(path, buf);
  return path;
}

const answering =
  (content: string, extra: Parameters<typeof completion>[1] = {}): Handler =>
  (req, res) => {
    if (req.method === 'GET') {
      sendJson(res, 200, { object: 'list', data: [{ id: `claude-sonnet-4-5${CLIPBOARD}`, object: 'model' }] });
      return;
    }
    sendJson(res, 200, completion(content, extra));
  };

test('describe: a hostile answer is printed without its escape sequences; stderr stays clean', async () => {
  const url = await relay(answering(HOSTILE));
  const img = await png(join(tempDir(), 'a.png'));
  const r = await run([img], { env: relayEnv(url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `A cat on a mat.${BIDI}\n`);
  assert.doesNotMatch(r.stderr, RAW_CONTROL);
});

test('describe --raw keeps the answer byte for byte', async () => {
  const url = await relay(answering(HOSTILE));
  const img = await png(join(tempDir(), 'a.png'));
  const r = await run([img, '--raw'], { env: relayEnv(url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${HOSTILE}\n`);
});

test('describe --json: valid JSON, the same answer, no raw C1 or bidi control', async () => {
  const url = await relay(answering(HOSTILE));
  const img = await png(join(tempDir(), 'a.png'));
  const r = await run([img, '--json'], { env: relayEnv(url) });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout.trimEnd(), RAW_CONTROL);
  assert.equal(JSON.parse(r.stdout).choices[0].message.content, HOSTILE);
  assert.match(r.stdout, /\\u009b31m/);
  assert.match(r.stdout, /\\u202eevil/);
});

test('describe: the relay error message, model id (-v) and reasoning are shown escaped on stderr', async () => {
  const failing = await relay((_req, res) => sendJson(res, 400, { error: { message: `bad${CLIPBOARD}\nerror: forged line`, type: 'x' } }));
  const img = await png(join(tempDir(), 'a.png'));
  const r1 = await run([img], { env: relayEnv(failing) });
  assert.equal(r1.code, 4);
  assert.doesNotMatch(r1.stderr, RAW_CONTROL);
  assert.match(r1.stderr, /bad\\x1b\]52;c;[A-Za-z0-9+/=]+\\x07.error: forged line/);
  assert.equal(r1.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r1.stderr);

  const url = await relay(
    answering('A cat.', { model: `m${TITLE}`, message: { reasoning_content: `step one${CLEAR}\nstep two${CLIPBOARD}` } }),
  );
  const r2 = await run([img, '-v', '--show-reasoning'], { env: relayEnv(url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r2.stderr, RAW_CONTROL);
  assert.match(r2.stderr, /model m\\x1b\]0;pwned\\x1b\\/);
  assert.match(r2.stderr, /step one\\x1b\[2J\\x1b\[H\nstep two\\x1b\]52/);
});

test('models and the "no model" error: hostile model ids shown escaped', async () => {
  const url = await relay((_req, res) =>
    sendJson(res, 200, { object: 'list', data: [{ id: `text-only${CLIPBOARD}`, object: 'model' }, { id: `x\n${TITLE}` }] }),
  );
  const list = await run(['models'], { env: relayEnv(url) });
  assert.equal(list.code, 0, list.stderr);
  assert.doesNotMatch(list.stdout.trimEnd(), RAW_CONTROL);
  assert.equal(list.stdout.split('\n').length, 3, 'one line per id, a newline in an id cannot forge a line');
  const json = await run(['models', '--json'], { env: relayEnv(url) });
  assert.equal(JSON.parse(json.stdout).data[0].id, `text-only${CLIPBOARD}`);

  const img = await png(join(tempDir(), 'a.png'));
  const none = await run([img], { env: relayEnv(url, { IMGDESC_MODEL: undefined, XDG_CACHE_HOME: tempDir() }) });
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /no model is set/);
  assert.doesNotMatch(none.stderr, RAW_CONTROL);
});

test('batch: a file name with OSC 52 and a newline gives one escaped error line and a valid record', async () => {
  const url = await relay(answering(HOSTILE));
  const dir = tempDir();
  const evil = join(dir, `x${CLIPBOARD}\nerror: forged.png`);
  writeFileSync(evil, 'not an image at all');
  const good = await png(join(dir, 'good.png'));
  const r = await run(['batch', evil, good, '--sidecar'], { env: relayEnv(url) });
  assert.equal(r.code, 5, r.stderr);
  assert.doesNotMatch(r.stderr, RAW_CONTROL);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
  assert.match(r.stderr, /x\\x1b\]52;c;[A-Za-z0-9+/=]+\\x07\\nerror: forged\.png/);
  const records = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(records.length, 2);
  assert.doesNotMatch(r.stdout.trimEnd(), RAW_CONTROL);
  assert.equal(records.find((x) => x.ok).content, HOSTILE, 'the record keeps the answer, JSON-escaped');
  assert.equal(readFileSync(join(dir, 'good.txt'), 'utf8'), `A cat on a mat.${BIDI}\n`);
});

test('batch --raw: sidecars keep the answer byte for byte', async () => {
  const url = await relay(answering(HOSTILE));
  const dir = join(tempDir(), 'photos');
  mkdirSync(dir);
  await png(join(dir, 'a.png'));
  const r = await run(['batch', dir, '--sidecar', '--raw', '-o', join(dir, '..', 'out.jsonl')], { env: relayEnv(url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), `${HOSTILE}\n`);
});

test('doctor: hostile relay text in findings is shown escaped', async () => {
  const url = await relay((req, res) => {
    if (req.method === 'GET' && req.url.includes('/models')) {
      sendJson(res, 200, { object: 'list', data: [{ id: `gpt-4o${CLIPBOARD}`, object: 'model' }] });
      return;
    }
    sendJson(res, 500, { error: { message: `upstream ${TITLE}${CLEAR} down`, type: 'x' } });
  });
  const r = await run(['doctor', '-m', `gpt-4o${CLIPBOARD}`], { env: relayEnv(url) });
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, RAW_CONTROL);
  assert.doesNotMatch(r.stderr, RAW_CONTROL);
});

test('log, log --json, log show and log show --json: a hostile answer from the history, no raw control', async () => {
  const url = await relay(answering(HOSTILE));
  const img = await png(join(tempDir(), 'a.png'));
  const env = { ...relayEnv(url), XDG_STATE_HOME: tempDir() };
  assert.equal((await run([img], { env })).code, 0);
  const list = await run(['log'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.doesNotMatch(list.stdout.trimEnd(), RAW_CONTROL);
  assert.match(list.stdout, /A cat\\x1b\]52;c;/);
  const json = await run(['log', '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  assert.doesNotMatch(json.stdout.trimEnd(), RAW_CONTROL);
  const rec = JSON.parse(json.stdout);
  assert.equal(rec.answer, HOSTILE, 'the same value, escaped in the JSON text');
  for (const args of [
    ['log', 'show', rec.id],
    ['log', 'show', rec.id, '--json'],
  ]) {
    const shown = await run(args, { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout.trimEnd(), RAW_CONTROL, args.join(' '));
  }
});
