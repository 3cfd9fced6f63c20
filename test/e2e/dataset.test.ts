// Dataset captioning end to end: trigger words, caption layouts, --existing, guards and the
// fallback model, against a local relay that refuses some images and answers others with nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completion, sendJson, type Handler, type RecordedRequest, serverPool } from '../helpers/server.ts';
import { fixture, noFixtures, relayEnv, run, tempDir } from '../helpers/cli.ts';

const server = serverPool();

const IMAGES: Record<string, string> = {
  'a.jpg': 'jpeg-baseline.jpg',
  'b.png': 'png-rgb.png',
  'c.gif': 'gif-static.gif',
  'd.webp': 'webp-lossy.webp',
  'e.jpg': 'jpeg-progressive.jpg',
};

/** A LoRA folder of real images. */
function loraFolder(sub = 'lora'): string {
  const dir = tempDir('imgdesc-dataset-');
  mkdirSync(join(dir, sub), { recursive: true });
  for (const [name, src] of Object.entries(IMAGES)) copyFileSync(fixture(src), join(dir, sub, name));
  return dir;
}

const nameOf = (req: RecordedRequest): string => {
  const text = (req.json?.messages?.at(-1)?.content?.[0]?.text ?? '') as string;
  return text.replace(/^caption /, '');
};

/**
 * The main model answers with chatter (a), a refusal (b), nothing (c), a cut-off caption (d) and a
 * think block (e); the fallback model answers every image cleanly.
 */
const misbehaving: Handler = (req, res) => {
  const name = nameOf(req);
  const model = req.json?.model as string;
  if (model === 'fallback-vl') return sendJson(res, 200, completion(`a clean caption of ${name}`, { model }));
  const answers: Record<string, ReturnType<typeof completion>> = {
    'a.jpg': completion('Here is a caption for the image:\n\nA boardwalk through a green marsh.', { model }),
    'b.png': completion("I'm sorry, but I can't help with that.", { model }),
    'c.gif': completion('', { model, finish_reason: 'length' }),
    'd.webp': completion('A long description of a harbour with boats and', { model, finish_reason: 'length' }),
    'e.jpg': completion('<think>The user wants a caption. Boats, water.</think>\nA fishing boat in a small harbour.', { model }),
  };
  sendJson(res, 200, answers[name] ?? completion(`a caption of ${name}`, { model }));
};

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('dataset: guards fail refused, empty and cut-off answers (nothing written), remove chatter; a rerun with --fallback-model retries only those', {
  skip: noFixtures,
}, async () => {
  const dir = loraFolder();
  const srv = await server(misbehaving);
  const env = relayEnv(srv.url, { IMGDESC_MODEL: 'main-vl' });
  const args = ['batch', 'lora', '--sidecar', '--prefix', 'ohwx', '-o', 'captions.jsonl', '-p', 'caption {name}'];

  const r1 = await run(args, { cwd: dir, env });
  assert.equal(r1.code, 5, r1.stderr);
  const recs = Object.fromEntries(lines(readFileSync(join(dir, 'captions.jsonl'), 'utf8')).map((r) => [r.image, r]));
  const a = recs['lora/a.jpg'];
  assert.deepEqual(
    [a.ok, a.verdict, a.content, a.removed],
    [true, 'chatter', 'ohwx, A boardwalk through a green marsh.', ['Here is a caption for the image:']],
  );
  assert.deepEqual([recs['lora/b.png'].ok, recs['lora/b.png'].verdict, recs['lora/b.png'].error.code], [false, 'refused', 'refused']);
  assert.equal(recs['lora/b.png'].content, "I'm sorry, but I can't help with that.", 'what the model said is kept for review');
  assert.deepEqual([recs['lora/c.gif'].ok, recs['lora/c.gif'].verdict], [false, 'empty']);
  assert.deepEqual([recs['lora/d.webp'].ok, recs['lora/d.webp'].verdict], [false, 'truncated']);
  assert.deepEqual(
    [recs['lora/e.jpg'].ok, recs['lora/e.jpg'].verdict, recs['lora/e.jpg'].content],
    [true, 'chatter', 'ohwx, A fishing boat in a small harbour.'],
  );
  assert.match(recs['lora/e.jpg'].removed[0], /^<think>/);
  assert.equal(readFileSync(join(dir, 'lora', 'a.txt'), 'utf8'), 'ohwx, A boardwalk through a green marsh.\n');
  assert.equal(readFileSync(join(dir, 'lora', 'e.txt'), 'utf8'), 'ohwx, A fishing boat in a small harbour.\n');
  for (const n of ['b', 'c', 'd']) assert.equal(existsSync(join(dir, 'lora', `${n}.txt`)), false, `${n}: no sidecar for a failed answer`);
  assert.match(r1.stderr, /guards: 1 refused, 1 empty, 1 cut off, 2 with chatter removed/);
  assert.match(r1.stderr, /lora\/b\.png: the model refused/);

  srv.requests.length = 0;
  const r2 = await run([...args, '--fallback-model', 'fallback-vl'], { cwd: dir, env });
  assert.equal(r2.code, 0, r2.stderr);
  const sent = srv.requests.map((q) => `${nameOf(q)}@${q.json.model}`).sort();
  assert.deepEqual(
    sent,
    ['b.png@fallback-vl', 'b.png@main-vl', 'c.gif@fallback-vl', 'c.gif@main-vl', 'd.webp@fallback-vl', 'd.webp@main-vl'],
    'only the failed ones, each once more with the fallback model',
  );
  const all = lines(readFileSync(join(dir, 'captions.jsonl'), 'utf8'));
  const b2 = all.filter((r) => r.image === 'lora/b.png').at(-1);
  assert.deepEqual(
    [b2.ok, b2.content, b2.model, b2.fallback],
    [
      true,
      'ohwx, a clean caption of b.png',
      'fallback-vl',
      { model: 'main-vl', verdict: 'refused', error: "the model refused: I'm sorry, but I can't help with that." },
    ],
  );
  for (const n of ['b.png', 'c.gif', 'd.webp'])
    assert.equal(readFileSync(join(dir, 'lora', n.replace(/\.\w+$/, '.txt')), 'utf8'), `ohwx, a clean caption of ${n}\n`);
  assert.match(r2.stderr, /fallback model answered 3 of 3/);

  // --no-guards keeps what the model said.
  const raw = loraFolder();
  const r3 = await run(['batch', 'lora', '--sidecar', '--no-guards', '-p', 'caption {name}'], { cwd: raw, env });
  assert.equal(r3.code, 5, 'the empty answer still fails: there is no text to write');
  assert.equal(readFileSync(join(raw, 'lora', 'b.txt'), 'utf8'), "I'm sorry, but I can't help with that.\n");
  assert.match(readFileSync(join(raw, 'lora', 'e.txt'), 'utf8'), /^<think>/);
  assert.doesNotMatch(r3.stderr, /guards:/);
});

const clean: Handler = (req, res) => sendJson(res, 200, completion(`A photo named ${nameOf(req)}.`));

test('dataset: --hf-metadata writes metadata.jsonl per folder, merged with one that is there, rewritten atomically', {
  skip: noFixtures,
}, async () => {
  const dir = loraFolder('set/one');
  mkdirSync(join(dir, 'set', 'two'));
  // any image does here: a small one (the 2048x1536 alpha PNG cost ~0.1 s of CPU more to prepare)
  copyFileSync(fixture('png-filetype.png'), join(dir, 'set', 'two', 'x.png'));
  const existing = [
    JSON.stringify({ file_name: 'a.jpg', text: 'hand-written caption', rating: 5 }),
    JSON.stringify({ file_name: 'gone.jpg', text: 'an image no longer here' }),
    'not json, kept',
  ].join('\n');
  writeFileSync(join(dir, 'set', 'one', 'metadata.jsonl'), existing + '\n');
  const srv = await server(clean);
  const env = relayEnv(srv.url);
  const r = await run(['batch', 'set', '-r', '--hf-metadata', '--suffix', 'sks style', '-p', 'caption {name}', '-o', 'r.jsonl'], {
    cwd: dir,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    srv.requests.map(nameOf).sort(),
    ['b.png', 'c.gif', 'd.webp', 'e.jpg', 'x.png'],
    'a.jpg has a caption there already: skipped',
  );
  assert.match(r.stderr, /1 already in metadata\.jsonl/);
  const one = readFileSync(join(dir, 'set', 'one', 'metadata.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.deepEqual(one.slice(0, 3), existing.split('\n'), 'other lines and columns kept as they were');
  assert.deepEqual(
    one
      .slice(3)
      .map((l) => JSON.parse(l))
      .sort((x, y) => (x.file_name < y.file_name ? -1 : 1)),
    [
      { file_name: 'b.png', text: 'A photo named b.png, sks style' },
      { file_name: 'c.gif', text: 'A photo named c.gif, sks style' },
      { file_name: 'd.webp', text: 'A photo named d.webp, sks style' },
      { file_name: 'e.jpg', text: 'A photo named e.jpg, sks style' },
    ],
  );
  assert.deepEqual(lines(readFileSync(join(dir, 'set', 'two', 'metadata.jsonl'), 'utf8')), [
    { file_name: 'x.png', text: 'A photo named x.png, sks style' },
  ]);
  const rec = lines(readFileSync(join(dir, 'r.jsonl'), 'utf8')).find((x) => x.image === 'set/two/x.png');
  assert.equal(rec.metadata, join(dir, 'set', 'two', 'metadata.jsonl'));
  assert.deepEqual(
    readdirSync(join(dir, 'set', 'one')).filter((f) => f.startsWith('.')),
    [],
    'no temp files left',
  );

  // --existing append: every image again, a new line under the old caption.
  srv.requests.length = 0;
  const r2 = await run(['batch', 'set/one', '--hf-metadata', '--existing', 'append', '-p', 'caption {name}'], { cwd: dir, env });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(srv.requests.length, 5);
  const a = lines(
    readFileSync(join(dir, 'set', 'one', 'metadata.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .join('\n'),
  ).find((x) => x.file_name === 'a.jpg');
  assert.deepEqual(a, { file_name: 'a.jpg', text: 'hand-written caption\nA photo named a.jpg.', rating: 5 });
});

test('dataset: --existing for sidecars (skip, overwrite, append, prepend) and the .caption layout', { skip: noFixtures }, async () => {
  const srv = await server(clean);
  const env = relayEnv(srv.url);
  const cases: Array<[args: string[], expected: string, requests: number]> = [
    [[], 'old caption\n', 0],
    [['--existing', 'skip'], 'old caption\n', 0],
    [['--overwrite'], 'ohwx, A photo named a.jpg.\n', 1],
    [['--existing', 'overwrite'], 'ohwx, A photo named a.jpg.\n', 1],
    [['--existing', 'append'], 'old caption\nohwx, A photo named a.jpg.\n', 1],
    [['--existing', 'prepend'], 'ohwx, A photo named a.jpg.\nold caption\n', 1],
  ];
  for (const [extra, expected, requests] of cases) {
    const dir = tempDir('imgdesc-dataset-');
    copyFileSync(fixture('jpeg-baseline.jpg'), join(dir, 'a.jpg'));
    writeFileSync(join(dir, 'a.caption'), 'old caption\n');
    srv.requests.length = 0;
    const r = await run(['batch', '.', '--sidecar', 'caption', '--prefix', 'ohwx', '-p', 'caption {name}', ...extra], { cwd: dir, env });
    assert.equal(r.code, 0, `${extra.join(' ')}: ${r.stderr}`);
    assert.equal(readFileSync(join(dir, 'a.caption'), 'utf8'), expected, extra.join(' ') || 'default');
    assert.equal(srv.requests.length, requests, extra.join(' '));
  }
});

test('dataset: option mistakes are usage errors (exit 2), nothing sent', { skip: noFixtures }, async () => {
  const dir = loraFolder();
  const srv = await server(clean);
  const env = relayEnv(srv.url);
  const cases: Array<[string[], RegExp]> = [
    [['--join', ' '], /--join goes with --prefix or --suffix/],
    [['--existing', 'append'], /--existing goes with --sidecar, --hf-metadata, --xmp or --embed/],
    [['--sidecar', '--overwrite', '--existing', 'append'], /--overwrite and --existing append disagree/],
    [['--sidecar', '--existing', 'merge'], /Allowed choices are skip, overwrite, append, prepend/],
    [['--sidecar', '--prefix', 'ohwx', '--schema', 'caption'], /--prefix and --suffix go with text captions/],
    [['--sidecar', '--fallback-model', ''], /--fallback-model: give a model id/],
    [['--sidecar', '-m', 'gpt-4o', '--fallback-model', 'gpt-4o'], /is the model already used/],
  ];
  for (const [extra, message] of cases) {
    const r = await run(['batch', 'lora', ...extra], { cwd: dir, env });
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal(srv.requests.length, 0);
});

test('dataset: batch --dry-run ends with the cost: images to send, input tokens by the family formula, output cap', {
  skip: noFixtures,
}, async () => {
  const dir = loraFolder();
  writeFileSync(join(dir, 'lora', 'a.txt'), 'already captioned\n');
  const srv = await server(clean);
  const env = relayEnv(srv.url);
  const r = await run(
    ['batch', 'lora', '--sidecar', '--dry-run', '--json', '-m', 'gpt-4o', '--max-tokens', '300', '-p', 'caption {name}'],
    { cwd: dir, env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.requests.length, 0, 'nothing sent');
  const planned = lines(r.stdout) as Array<{ width: number; height: number }>;
  assert.equal(planned.length, 4, 'a.jpg has a sidecar: not counted');
  const { imageTokens } = await import('../../src/core/cost.ts');
  const images = planned.reduce((sum, p) => sum + imageTokens('gpt-4o', p.width, p.height, undefined), 0);
  const prompt = 4 * (4 + 4); // "caption x.png" ≈ 4 tokens + 4 for the message, per image
  const m = r.stderr.match(
    /cost: 4 image\(s\) to send, ≈([\d,]+) input tokens \(([\d,]+) for images by OpenAI's 512-px tile formula, ([\d,]+) for prompts\), output cap 1,200 tokens \(4 × 300\)/,
  );
  assert.ok(m, r.stderr);
  assert.equal(Number(m[2]!.replace(/,/g, '')), images);
  assert.equal(Number(m[3]!.replace(/,/g, '')), prompt);
  assert.equal(Number(m[1]!.replace(/,/g, '')), images + prompt);

  const claude = await run(['batch', 'lora', '--dry-run', '--json', '-m', 'claude-sonnet-4-5', '-p', 'caption {name}'], { cwd: dir, env });
  const c = claude.stderr.match(
    /cost: 5 image\(s\) to send, ≈[\d,]+ input tokens \(([\d,]+) for images by Claude's width × height \/ 750 after its resize, 40 for prompts\), no output cap set/,
  );
  assert.ok(c, claude.stderr);
  // The per-image estimates of --dry-run add up to the preview's image tokens.
  const perImage = (lines(claude.stdout) as Array<{ estimated_tokens: number }>).reduce((sum, p) => sum + p.estimated_tokens, 0);
  assert.equal(Number(c[1]!.replace(/,/g, '')), perImage);
});
