import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callSettings, schemaText } from '../../../src/mcp/server.ts';
import { classifyImage, isInside, outsideMessage } from '../../../src/mcp/paths.ts';
import type { Settings } from '../../../src/config/settings.ts';

test('isInside: a folder itself and what is below it, nothing beside or above', () => {
  assert.equal(isInside('/w/a', ['/w/a']), true);
  assert.equal(isInside('/w/a/b/c.jpg', ['/w/a']), true);
  assert.equal(isInside('/w/ab/c.jpg', ['/w/a']), false);
  assert.equal(isInside('/w/c.jpg', ['/w/a']), false);
  assert.equal(isInside('/w/..c.jpg', ['/w']), true);
  assert.equal(isInside('/x/c.jpg', ['/w/a', '/x']), true);
  assert.equal(isInside('/w/a/c.jpg', []), false);
  assert.equal(isInside('/anything', ['/']), true);
});

test('classifyImage: paths, file: URLs, http(s) and data: URLs; stdin and other schemes refused', () => {
  assert.deepEqual(classifyImage('photo.jpg'), { kind: 'path', value: 'photo.jpg' });
  assert.deepEqual(classifyImage('/abs/photo.jpg'), { kind: 'path', value: '/abs/photo.jpg' });
  assert.deepEqual(classifyImage('file:///abs/a%20b.jpg'), { kind: 'path', value: '/abs/a b.jpg' });
  assert.deepEqual(classifyImage('HTTPS://example.com/a.png'), { kind: 'url', value: 'HTTPS://example.com/a.png' });
  assert.deepEqual(classifyImage('data:image/png;base64,AAAA'), { kind: 'data', value: 'data:image/png;base64,AAAA' });
  assert.deepEqual(classifyImage('c:\\photos\\a.jpg'), { kind: 'path', value: 'c:\\photos\\a.jpg' });
  assert.equal(classifyImage('-').kind, 'refused');
  assert.equal(classifyImage('ftp://h/a.jpg').kind, 'refused');
  assert.equal(classifyImage('file://remote-host/a.jpg').kind, 'refused');
});

test('outsideMessage names the rule that applies', () => {
  assert.equal(
    outsideMessage('/x/a.jpg', { rule: 'roots', dirs: ['/w'] }),
    "/x/a.jpg: outside the client's roots (/w); only files under the roots the client declares can be read",
  );
  assert.equal(outsideMessage('a.jpg', { rule: 'roots', dirs: [] }).includes('(none)'), true);
  assert.equal(
    outsideMessage('/x/a.jpg', { rule: 'dirs', dirs: ['/w', '/p'] }),
    '/x/a.jpg: outside the folders this server may read (/w, /p): the folder imgdesc mcp started in and each --allow-dir',
  );
});

test('schemaText: an object or JSON text as given, the short form expanded, never a file name', () => {
  assert.equal(schemaText({ type: 'object' }), '{"type":"object"}');
  assert.equal(schemaText(' {"type":"object"}'), ' {"type":"object"}');
  assert.deepEqual(JSON.parse(schemaText('caption, n int')), {
    type: 'object',
    properties: { caption: { type: 'string' }, n: { type: 'integer' } },
    required: ['caption', 'n'],
    additionalProperties: false,
  });
  assert.throws(() => schemaText('schema.json'), /--schema: invalid field name 'schema.json'/);
});

test('callSettings: a call overrides only what it sets', () => {
  const base = { prompt: 'p', model: 'm', maxTokens: undefined, detail: undefined, schema: undefined } as unknown as Settings;
  assert.deepEqual(callSettings(base, {}), base);
  const s = callSettings(base, { prompt: 'q', model: 'n', max_tokens: 5, detail: 'low', schema: 'a' });
  assert.deepEqual([s.prompt, s.model, s.maxTokens, s.detail, JSON.parse(s.schema ?? '').required], ['q', 'n', 5, 'low', ['a']]);
  assert.equal(base.prompt, 'p', 'the server settings are left as they were');
});
