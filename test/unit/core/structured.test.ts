import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  mentionsResponseFormat,
  parseShortSchema,
  parseStructuredAnswer,
  structuredRequest,
  type StructuredSpec,
} from '../../../src/core/structured.ts';
import { CliError, UsageError } from '../../../src/types.ts';
import { validateSpecSchema } from '../../helpers/openapi.ts';
import { needs, SPEC_PATH } from '../../helpers/shared.ts';

const obj = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const S = { type: 'string' };
const I = { type: 'integer' };
const N = { type: 'number' };
const B = { type: 'boolean' };
const arr = (items: unknown) => ({ type: 'array', items });

const usage = (re: RegExp) => (err: unknown) => err instanceof UsageError && err.exitCode === 2 && re.test(err.message);
const apiErr = (re: RegExp) => (err: unknown) =>
  err instanceof CliError && err.exitCode === 4 && re.test(err.message) && /--no-validate/.test(err.hint ?? '');

const cwd = mkdtempSync(join(tmpdir(), 'imgdesc-structured-'));
after(() => rmSync(cwd, { recursive: true, force: true }));
const req = (schema: string | undefined, schemaMode: 'json_schema' | 'prompt' = 'json_schema', validate = true) =>
  structuredRequest({ schema, schemaMode, validate }, cwd);

describe('parseShortSchema', () => {
  test('default type is string', () => assert.deepEqual(parseShortSchema('caption'), obj({ caption: S })));
  test('every type name', () =>
    assert.deepEqual(
      parseShortSchema('a string, b int, c integer, d number, e float, f bool, g boolean'),
      obj({ a: S, b: I, c: I, d: N, e: N, f: B, g: B }),
    ));
  test('type names are case-insensitive', () => assert.deepEqual(parseShortSchema('n INT'), obj({ n: I })));
  test('arrays', () =>
    assert.deepEqual(parseShortSchema('tags string[], n int[], x bool []'), obj({ tags: arr(S), n: arr(I), x: arr(B) })));
  test('array with default type', () => assert.deepEqual(parseShortSchema('tags[]'), obj({ tags: arr(S) })));
  test('the example from the docs', () =>
    assert.deepEqual(
      parseShortSchema('caption, tags string[], nsfw bool, objects int, score number'),
      obj({ caption: S, tags: arr(S), nsfw: B, objects: I, score: N }),
    ));
  test('extra spaces', () => assert.deepEqual(parseShortSchema('  a   int ,b\tbool  '), obj({ a: I, b: B })));
  test('bad type', () =>
    assert.throws(() => parseShortSchema('caption strng'), usage(/unknown type 'strng' for field 'caption' \(use string, int/)));
  test('empty field', () => assert.throws(() => parseShortSchema('a,,b'), usage(/field 2 of 3 is empty/)));
  test('trailing comma', () => assert.throws(() => parseShortSchema('a,'), usage(/is empty/)));
  test('empty text', () => assert.throws(() => parseShortSchema('  '), usage(/empty/)));
  test('duplicate field', () => assert.throws(() => parseShortSchema('a, b int, a'), usage(/duplicate field 'a'/)));
  test('too many words', () => assert.throws(() => parseShortSchema('a string extra'), usage(/cannot read field/)));
  test('bad name', () => assert.throws(() => parseShortSchema('1abc int'), usage(/invalid field name '1abc'/)));
});

describe('structuredRequest', () => {
  test('no schema → undefined', async () => assert.equal(await req(undefined), undefined));

  test('short form, json_schema mode: extra is a strict response_format', async () => {
    const spec = await req('caption, tags string[]');
    const schema = obj({ caption: S, tags: arr(S) });
    assert.deepEqual(spec, {
      schema,
      name: 'answer',
      mode: 'json_schema',
      validate: true,
      extra: { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } } },
      promptSuffix: undefined,
    });
  });

  test('prompt mode: suffix holds the pretty schema, no response_format', async () => {
    const spec = await req('caption', 'prompt');
    assert.deepEqual(spec?.extra, {});
    assert.match(spec?.promptSuffix ?? '', /ONLY with a JSON object/);
    assert.ok(spec?.promptSuffix?.includes(JSON.stringify(obj({ caption: S }), null, 2)));
  });

  test('inline JSON is sent as given; title becomes the name', async () => {
    const schema = { title: 'Photo caption!', type: 'object', properties: { c: { type: 'string' } } };
    const spec = await req(` ${JSON.stringify(schema)} `);
    assert.deepEqual(spec?.schema, schema);
    assert.equal(spec?.name, 'Photo_caption');
  });
  test('long title is cut to 64', async () => assert.equal((await req(JSON.stringify({ title: 'x'.repeat(100) })))?.name.length, 64));
  test('title with no usable characters → answer', async () => assert.equal((await req('{"title":"!!!"}'))?.name, 'answer'));

  test('schema from a file, relative to cwd', async () => {
    const schema = obj({ label: S });
    writeFileSync(join(cwd, 'schema.json'), JSON.stringify(schema));
    assert.deepEqual((await req('schema.json'))?.schema, schema);
    assert.deepEqual((await req(join(cwd, 'schema.json')))?.schema, schema);
  });
  test('a file whose name is a bare word wins over the short form', async () => {
    writeFileSync(join(cwd, 'caption'), JSON.stringify(obj({ x: I })));
    assert.deepEqual((await req('caption'))?.schema, obj({ x: I }));
    rmSync(join(cwd, 'caption'));
  });
  test('missing .json file → exit 2', () => assert.rejects(req('nope.json'), usage(/no such file: nope\.json/)));
  test('file with invalid JSON → exit 2', async () => {
    writeFileSync(join(cwd, 'bad.json'), '{ not json');
    await assert.rejects(req('bad.json'), usage(/bad\.json is not valid JSON/));
  });
  test('invalid inline JSON → exit 2', () => assert.rejects(req('{"type": '), usage(/inline schema is not valid JSON/)));
  test('JSON that is not an object → exit 2', async () => {
    writeFileSync(join(cwd, 'arr.json'), '[1]');
    await assert.rejects(req('arr.json'), usage(/must be a JSON object/));
  });
  test('schema ajv cannot compile → exit 2', () =>
    assert.rejects(req('{"type":"object","properties":{"a":{"type":"nonsense"}}}'), usage(/cannot be used/)));
  test('bad short form → exit 2', () => assert.rejects(req('a strng'), usage(/unknown type 'strng'/)));

  test('extra matches the OpenAI spec ResponseFormatJsonSchema', { skip: needs(SPEC_PATH) }, async () => {
    const spec = await req('caption, tags string[]');
    assert.ok(spec?.extra.response_format);
    assert.deepEqual(validateSpecSchema('ResponseFormatJsonSchema', spec.extra.response_format), []);
  });
});

describe('parseStructuredAnswer', () => {
  const spec = (validate = true): StructuredSpec => ({
    schema: obj({ caption: S, tags: arr(S) }),
    name: 'answer',
    mode: 'json_schema',
    validate,
    extra: {},
    promptSuffix: undefined,
  });
  const good = { caption: 'a dog', tags: ['dog'] };
  const strict = spec();

  test('plain JSON', async () => assert.deepEqual(await parseStructuredAnswer(JSON.stringify(good), strict), good));
  test('```json fence', async () =>
    assert.deepEqual(await parseStructuredAnswer('```json\n' + JSON.stringify(good, null, 2) + '\n```', strict), good));
  test('``` fence without language', async () =>
    assert.deepEqual(await parseStructuredAnswer('```\n' + JSON.stringify(good) + '\n```', strict), good));
  test('fence on one line', async () =>
    assert.deepEqual(await parseStructuredAnswer('```json ' + JSON.stringify(good) + '```', strict), good));
  test('surrounding whitespace', async () =>
    assert.deepEqual(await parseStructuredAnswer('\n\n  ' + JSON.stringify(good) + '  \n', strict), good));
  test('invalid JSON → exit 4 with the beginning', () =>
    assert.rejects(
      parseStructuredAnswer('Sure! Here is the JSON you asked for', strict),
      apiErr(/^answer is not valid JSON: .+; it began: Sure! Here/),
    ));
  test('beginning is cut to 80 characters', () =>
    assert.rejects(
      parseStructuredAnswer('x'.repeat(200), strict),
      (e: unknown) => e instanceof CliError && e.message.endsWith(`began: ${'x'.repeat(80)}`),
    ));
  test('empty answer → exit 4', () => assert.rejects(parseStructuredAnswer('  ', strict), apiErr(/not valid JSON: the answer is empty$/)));
  test('schema violation → exit 4 with the path', () =>
    assert.rejects(
      parseStructuredAnswer('{"caption":"a","tags":"dog"}', strict),
      apiErr(/^answer does not match the schema: \/tags must be array$/),
    ));
  test('missing property at the root', () =>
    assert.rejects(parseStructuredAnswer('{"caption":"a"}', strict), apiErr(/: \/ must have required property 'tags'/)));
  test('extra property names it', () =>
    assert.rejects(parseStructuredAnswer('{"caption":"a","tags":[],"x":1}', strict), apiErr(/additional properties 'x'/)));
  test('validate=false passes a violating object', async () =>
    assert.deepEqual(await parseStructuredAnswer('{"tags":"dog"}', spec(false)), { tags: 'dog' }));
  test('validate=false returns non-JSON text unchanged', async () =>
    assert.equal(await parseStructuredAnswer(' not json\n', spec(false)), ' not json\n'));
  test('many answers with one spec', async () => {
    for (let i = 0; i < 50; i++) assert.deepEqual(await parseStructuredAnswer(JSON.stringify(good), strict), good);
  });
  test('each schema is checked against itself: without $id, with one $id twice, after one that failed', async () => {
    const check = async (schema: Record<string, unknown>, good: unknown, bad: unknown) => {
      const s: StructuredSpec = { ...spec(), schema };
      assert.deepEqual(await parseStructuredAnswer(JSON.stringify(good), s), good);
      await assert.rejects(parseStructuredAnswer(JSON.stringify(bad), s), apiErr(/does not match the schema/));
    };
    const idA = { $id: 'https://example.com/answer', ...obj({ a: S }) };
    const idB = { $id: 'https://example.com/answer', ...obj({ b: I }) };
    const nested = (p: Record<string, unknown>) => obj({ x: { $id: 'https://example.com/x', ...obj(p) } });
    await assert.rejects(req('{"type":"object","properties":{"a":{"type":"nonsense"}}}'), usage(/cannot be used/));
    await check(obj({ a: S }), { a: 'x' }, { b: 1 });
    await check(obj({ b: I }), { b: 1 }, { a: 'x' });
    await check(idA, { a: 'x' }, { b: 1 });
    await check(idB, { b: 1 }, { a: 'x' });
    await check(nested({ a: S }), { x: { a: 'x' } }, { x: { b: 1 } });
    await check(nested({ b: I }), { x: { b: 1 } }, { x: { a: 'x' } });
  });
  test('formats are checked', async () => {
    const s: StructuredSpec = { ...spec(), schema: { type: 'string', format: 'date' } };
    await assert.rejects(parseStructuredAnswer('"yesterday"', s), apiErr(/must match format "date"/));
    assert.equal(await parseStructuredAnswer('"2024-05-01"', s), '2024-05-01');
  });
});

describe('mentionsResponseFormat', () => {
  const cases: Array<[number | undefined, string, boolean]> = [
    [400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", true],
    [400, 'json_schema is not supported', true],
    [422, 'Structured outputs are not available for this model', true],
    [undefined, 'response_format not allowed', true],
    [400, 'This format is not supported', true],
    [400, 'unsupported format', true],
    [400, 'max_tokens is too large', false],
    [400, 'model not supported', false],
    [500, 'response_format failed', false],
    [401, 'json_schema', false],
  ];
  for (const [status, message, want] of cases) {
    test(`${status} ${message} → ${want}`, () => assert.equal(mentionsResponseFormat(status, message), want));
  }
});
