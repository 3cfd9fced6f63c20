// npm test's split of the test files into groups, one process each (scripts/test-groups.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupFiles } from '../../scripts/test-groups.mjs';

test('groupFiles: even sums, longest first, each to the least loaded group', () => {
  const d = { a: 10, b: 7, c: 5, d: 4, e: 3, f: 1 };
  assert.deepEqual(groupFiles(Object.keys(d), d, 2), [
    ['a', 'd', 'f'],
    ['b', 'c', 'e'],
  ]);
  assert.deepEqual(groupFiles(Object.keys(d), d, 3), [['a'], ['b', 'e'], ['c', 'd', 'f']]);
  assert.deepEqual(groupFiles(['x'], {}, 4), [['x']]);
  assert.deepEqual(groupFiles([], {}, 3), []);
  assert.deepEqual(groupFiles(['a', 'b'], { a: 1, b: 2 }, 0), [['b', 'a']]);
});

test('groupFiles: a file never timed counts as the longest known', () => {
  assert.deepEqual(groupFiles(['old', 'new', 'small'], { old: 9, small: 1 }, 2), [['new', 'small'], ['old']]);
  assert.deepEqual(groupFiles(['p', 'q'], {}, 2), [['p'], ['q']]);
});
