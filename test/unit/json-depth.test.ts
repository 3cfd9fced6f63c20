import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, nestsDeeper } from '../../src/json-depth.ts';

const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

test('nestsDeeper: one line per case', () => {
  assert.equal(nestsDeeper('{"choices":[{"message":{"content":"x"}}]}'), false);
  assert.equal(nestsDeeper('1'), false);
  assert.equal(nestsDeeper(''), false);
  assert.equal(nestsDeeper(nested(MAX_JSON_DEPTH)), false);
  assert.equal(nestsDeeper(nested(MAX_JSON_DEPTH + 1)), true);
  assert.equal(nestsDeeper('['.repeat(100_000) + ']'.repeat(100_000)), true);
  assert.equal(nestsDeeper(`{"s":"${'['.repeat(1000)}"}`), false, 'brackets in a string do not count');
  assert.equal(nestsDeeper(`{"s":"\\"${'{'.repeat(1000)}"}`), false, 'an escaped quote does not end the string');
  assert.equal(nestsDeeper('[[[]]]', 2), true);
  assert.equal(nestsDeeper('[[],[],[]]', 2), false, 'siblings do not add up');
});
