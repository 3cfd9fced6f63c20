// Deep or recursive structures (issue 19, item 8): a 200 answer whose `usage` nests 100,000 levels
// is a failed item (exit 4 for describe) and a batch goes on; a schema that refers to itself
// without descending into the answer is refused before anything is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, type Handler, serverPool } from '../helpers/server.ts';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';

const relay = serverPool();

/** A chat completion whose usage nests `depth` objects deep, as text (JSON.stringify could not write it). */
function deepAnswer(depth: number): string {
  const head = JSON.stringify(completion('A cat.')).replace(/"usage":\{[^}]*\}/, '"usage":');
  return head.replace(/\}$/, '') + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + '}';
}

async function pngs(dir: string, n: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `img${i}.png`);
    const buf = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i * 40, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    writeFileSync(p, buf);
    out.push(p);
  }
  return out;
}

/** Answers the request for img3.png with the deep body, the others normally. */
const deepForOne: Handler = (req, res) => {
  if (JSON.stringify(req.json).includes('img3.png')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(deepAnswer(100_000));
    return;
  }
  sendJson(res, 200, completion('A red square.'));
};

test('the deep answer helper nests as deep as asked', () => {
  assert.match(deepAnswer(3), /"usage":\{"a":\{"a":\{"a":1\}\}\}\}$/);
  assert.doesNotThrow(() => JSON.parse(deepAnswer(100_000)));
});

test('describe: an answer nested 100,000 levels deep is exit 4 with one line', async () => {
  const s = await relay((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(deepAnswer(100_000));
  });
  const [img] = await pngs(tempDir(), 1);
  for (const extra of [[], ['--json'], ['--stream']]) {
    const r = await run([img as string, ...extra], { env: relayEnv(s.url) });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: HTTP 200: the answer nests deeper than 128 levels/m);
    assert.equal(r.stdout, '');
  }
});

test('batch: the deep answer is a failed item; the five other images are written', async () => {
  const s = await relay(deepForOne);
  const dir = join(tempDir(), 'p');
  await pngs(dir, 6);
  const r = await run(['batch', dir, '-p', 'describe {name}', '--sidecar', '-o', join(dir, '..', 'out.jsonl')], {
    env: relayEnv(s.url, { IMGDESC_RETRIES: '0' }),
  });
  assert.equal(r.code, 5, r.stderr);
  const { readFileSync, existsSync } = await import('node:fs');
  const records = readFileSync(join(dir, '..', 'out.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(records.length, 6);
  assert.deepEqual(
    records.filter((x) => !x.ok).map((x) => [x.image.replace(/.*\//, ''), x.error.code]),
    [['img3.png', 'invalid_response']],
  );
  assert.equal(records.filter((x) => x.ok).length, 5);
  assert.equal(existsSync(join(dir, 'img3.txt')), false);
  assert.equal(existsSync(join(dir, 'img0.txt')), true);
});

test('map: the deep answer is a failed record in its place', async () => {
  const s = await relay(deepForOne);
  const dir = tempDir();
  await pngs(dir, 5);
  const rows = ['img2.png', 'img3.png', 'img4.png'].map((f) => JSON.stringify({ image: join(dir, f) })).join('\n');
  const r = await run(['map', '-p', 'describe {name}'], { env: relayEnv(s.url, { IMGDESC_RETRIES: '0' }), input: rows, cwd: dir });
  assert.equal(r.code, 5, r.stderr);
  const records = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    records.map((x) => x.ok),
    [true, false, true],
  );
});

test('--schema {"$ref":"#"} and a schema nested too deep are refused before anything is sent', async () => {
  const s = await relay((_req, res) => sendJson(res, 200, completion('{}')));
  const [img] = await pngs(tempDir(), 1);
  for (const schema of [
    '{"$ref":"#"}',
    '{"allOf":[{"$ref":"#/$defs/a"}],"$defs":{"a":{"anyOf":[{"$ref":"#"}]}}}',
    '{"type":"object","properties":' + '{"a":{"type":"object","properties":'.repeat(200) + '{}' + '}}'.repeat(200) + '}',
  ]) {
    const r = await run([img as string, '--schema', schema], { env: relayEnv(s.url) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: --schema: inline schema (refers to itself|nests deeper)/m);
    const b = await run(['batch', img as string, '--schema', schema], { env: relayEnv(s.url) });
    assert.equal(b.code, 2, b.stderr);
  }
  assert.equal(s.requests.length, 0, 'nothing was sent');
});

test('a schema that recurses through its properties (a tree) is fine', async () => {
  const s = await relay((_req, res) => sendJson(res, 200, completion('{"name":"root","children":[{"name":"leaf","children":[]}]}')));
  const [img] = await pngs(tempDir(), 1);
  const tree =
    '{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}},"required":["name","children"]}';
  const r = await run([img as string, '--schema', tree], { env: relayEnv(s.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).children[0].name, 'leaf');
});
