import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, editDistance } from '../../../src/cli/suggest.ts';

const commands = ['describe', 'batch', 'config', 'models'];

test('editDistance, one line per case', () => {
  assert.equal(editDistance('batch', 'batch'), 0);
  assert.equal(editDistance('bacth', 'batch'), 1);
  assert.equal(editDistance('btch', 'batch'), 1);
  assert.equal(editDistance('confg', 'config'), 1);
  assert.equal(editDistance('photo', 'batch'), 5);
});

test('closest: a typo of a command, never an unrelated word', () => {
  assert.equal(closest('bacth', commands), 'batch');
  assert.equal(closest('Batch', commands), 'batch');
  assert.equal(closest('modles', commands), 'models');
  assert.equal(closest('descirbe', commands), 'describe');
  assert.equal(closest('cat', commands), undefined);
  assert.equal(closest('photo', commands), undefined);
  assert.equal(closest('modle', ['model', 'max-edge']), 'model');
});
