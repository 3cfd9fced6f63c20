import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schemaLoop } from '../../../src/core/schema-loops.ts';

test('schemaLoop: a reference back to the same value is a loop; recursion through the value is not', () => {
  assert.deepEqual(schemaLoop({ $ref: '#' }), ['#', '#']);
  assert.deepEqual(schemaLoop({ allOf: [{ $ref: '#' }] }), ['#', '#/allOf/0', '#']);
  assert.deepEqual(schemaLoop({ $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } } }), [
    '#/$defs/a',
    '#/$defs/b',
    '#/$defs/a',
  ]);
  assert.notEqual(schemaLoop({ type: 'object', properties: { x: { anyOf: [{ $ref: '#/properties/x' }] } } }), null);
  assert.notEqual(schemaLoop({ not: { $ref: '#' } }), null);
  assert.equal(schemaLoop({ type: 'object', properties: { caption: { type: 'string' } } }), null);
  assert.equal(
    schemaLoop({ type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } } }),
    null,
  );
  assert.equal(
    schemaLoop({ $ref: '#/$defs/node', $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } } }),
    null,
  );
  assert.equal(schemaLoop({ $ref: 'https://example.com/other.json' }), null);
  assert.equal(schemaLoop({ $ref: '#/nowhere' }), null);
});
