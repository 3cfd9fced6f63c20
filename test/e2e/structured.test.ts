// End to end: --schema, --schema-mode, --no-validate, --reasoning-effort, --show-reasoning, -n.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { relayEnv, run, tempDir, failureLine } from '../helpers/cli.ts';
import { validateChatRequest } from '../helpers/openapi.ts';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let png: string;
const work = tempDir();
before(async () => {
  server = await startServer();
  png = join(work, 'dog.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#a52' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

function answer(content: string, message: Record<string, unknown> = {}) {
  server.requests.length = 0;
  server.handler = (_req, res) => sendJson(res, 200, completion(content, { message }));
}

function assertValid(body: unknown) {
  const problems = validateChatRequest(body);
  if (problems !== null) assert.deepEqual(problems, []);
}

describe('--schema', () => {
  test('short form: sent as a strict json_schema, answer printed as JSON for jq', async () => {
    answer('{"caption":"A dog on a sofa.","tags":["dog","sofa"]}');
    const r = await run(['--schema', 'caption, tags string[]', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { caption: 'A dog on a sofa.', tags: ['dog', 'sofa'] });
    const body = server.requests[0]!.json;
    assertValid(body);
    assert.equal(body.response_format.type, 'json_schema');
    assert.equal(body.response_format.json_schema.strict, true);
    assert.deepEqual(body.response_format.json_schema.schema, {
      type: 'object',
      properties: { caption: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['caption', 'tags'],
      additionalProperties: false,
    });
  });

  test('fenced answers are unwrapped; schema files and profile defaults work', async () => {
    const file = join(work, 'schema.json');
    writeFileSync(file, JSON.stringify({ title: 'Photo', type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }));
    answer('```json\n{"n": 3}\n```');
    const home = tempDir();
    assert.equal((await run(['config', 'set', 'schema', file], { configHome: home })).code, 0);
    const r = await run([png], { env: relayEnv(server.url), configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { n: 3 });
    assert.equal(server.requests[0]!.json.response_format.json_schema.name, 'Photo');
  });

  test('an answer that fails the schema exits 4 with the first error, unless --no-validate', async () => {
    answer('{"caption": 5}');
    let r = await run(['--schema', 'caption', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /does not match the schema: \/caption must be string/);
    failureLine(r.stderr);
    r = await run(['--schema', 'caption', '--no-validate', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { caption: 5 });
    answer('Sure! Here is a caption: a dog.');
    r = await run(['--schema', 'caption', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /not valid JSON/);
  });

  test('a relay that rejects response_format: auto asks once more without it; json_schema gets a hint; prompt mode never sends it', async () => {
    server.requests.length = 0;
    server.handler = (req, res) => {
      if (req.json.response_format)
        sendJson(res, 400, {
          error: { message: 'response_format json_schema is not supported for this model', type: 'invalid_request_error' },
        });
      else sendJson(res, 200, completion('{"caption":"A dog."}'));
    };
    let r = await run(['--schema', 'caption', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { caption: 'A dog.' });
    assert.match(r.stderr, /refused response_format: asking again with the schema in the prompt only/);
    assert.equal(server.requests.length, 2);
    assert.ok(server.requests[0]!.json.response_format);
    assert.equal(server.requests[1]!.json.response_format, undefined);
    assert.match(server.requests[1]!.json.messages[0].content[0].text, /"caption"/);
    r = await run(['--schema', 'caption', '--schema-mode', 'json_schema', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /--schema-mode auto or prompt/);
    r = await run(['--schema', 'caption', '--schema-mode', 'prompt', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { caption: 'A dog.' });
    const body = server.requests.at(-1)!.json;
    assertValid(body);
    assert.equal(body.response_format, undefined);
    assert.match(body.messages[0].content[0].text, /"caption"/);
  });

  test('a Claude relay that drops response_format (auto, the default): the schema in the prompt still gets JSON', async () => {
    server.requests.length = 0;
    // one-api relay/adaptor/anthropic/main.go ConvertRequest copies no response_format: the model sees only the prompt.
    server.handler = (req, res) => {
      const text: string = req.json.messages.at(-1).content[0].text;
      sendJson(
        res,
        200,
        completion(text.includes('JSON Schema') ? '```json\n{"caption":"A dog.","tags":["dog","grass"]}\n```' : 'A dog on the grass.'),
      );
    };
    const r = await run(['--schema', 'caption, tags string[]', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).tags, ['dog', 'grass']);
    assert.ok(server.requests[0]!.json.response_format, 'response_format is still sent for relays that pass it');
  });

  test('a bad schema exits 2 and sends nothing', async () => {
    answer('{}');
    for (const schema of ['caption strng', '{"type": "object", ', 'a, a']) {
      const r = await run(['--schema', schema, png], { env: relayEnv(server.url) });
      assert.equal(r.code, 2, `${schema}: ${r.stderr}`);
    }
    assert.equal(server.requests.length, 0);
  });
});

describe('model controls', () => {
  test('--reasoning-effort is sent; --show-reasoning prints reasoning dimmed on stderr, before the answer', async () => {
    answer('A dog.', { reasoning_content: 'The fur and the ears suggest a dog.' });
    const r = await run(['--reasoning-effort', 'high', '--show-reasoning', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'A dog.\n');
    assert.match(r.stderr, /The fur and the ears suggest a dog\./);
    const body = server.requests[0]!.json;
    assertValid(body);
    assert.equal(body.reasoning_effort, 'high');
    const plain = await run([png], { env: relayEnv(server.url) });
    assert.equal(plain.stderr, '', 'reasoning is not shown unless asked');
    const json = await run(['--json', png], { env: relayEnv(server.url) });
    assert.equal(JSON.parse(json.stdout).choices[0].message.reasoning_content, 'The fur and the ears suggest a dog.');
  });

  test('-n asks for several candidates and prints them separated by a blank line', async () => {
    server.requests.length = 0;
    server.handler = (_req, res) => {
      const body = completion('First.');
      body.choices.push({ index: 1, message: { role: 'assistant', content: 'Second.' }, finish_reason: 'stop' });
      sendJson(res, 200, body);
    };
    const r = await run(['-n', '2', '-m', 'gpt-4o', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'First.\n\nSecond.\n');
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.json.n, 2);
    assertValid(server.requests[0]!.json);
  });

  test('-n with a family that ignores n (Claude): one request per answer, the bodies assembled for --json', async () => {
    server.requests.length = 0;
    let k = 0;
    // A Claude channel answers one choice whatever n says (one-api relay/adaptor/anthropic/main.go drops n).
    server.handler = (_req, res) => sendJson(res, 200, completion(`Answer ${++k}.`));
    const r = await run(['-n', '3', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Answer 1.\n\nAnswer 2.\n\nAnswer 3.\n');
    assert.equal(server.requests.length, 3);
    assert.ok(
      server.requests.every((q) => q.json.n === undefined),
      'n is not sent to Claude',
    );
    k = 0;
    const j = await run(['-n', '2', '--json', png], { env: relayEnv(server.url) });
    const body = JSON.parse(j.stdout);
    assert.deepEqual(
      body.choices.map((c: { index: number; message: { content: string } }) => [c.index, c.message.content]),
      [
        [0, 'Answer 1.'],
        [1, 'Answer 2.'],
      ],
    );
    assert.equal(body.usage.total_tokens, 42);
  });

  test('-n: a request for the rest that fails says how many answers came', async () => {
    let k = 0;
    server.handler = (_req, res) =>
      ++k === 1 ? sendJson(res, 200, completion('One.')) : sendJson(res, 400, { error: { message: 'bad', type: 'invalid_request_error' } });
    const r = await run(['-n', '2', png], { env: relayEnv(server.url) });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /got 1 of 2 answers; asking for the rest failed: HTTP 400: bad/);
  });
});
