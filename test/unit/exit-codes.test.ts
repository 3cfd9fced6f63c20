// failureOf: what failed decides the exit code, one line per case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageError } from '../../src/image/types.ts';
import { APIConnectionError, APIError } from '../../src/api/errors.ts';
import { ConfigError, InterruptedError, OutputError, UsageError, failureOf, signalStop } from '../../src/types.ts';

const live = new AbortController().signal;
const stoppedBy = (reason: unknown) => {
  const c = new AbortController();
  c.abort(reason);
  return c.signal;
};

test('failureOf: the exit code by what failed', () => {
  const cases: [string, unknown, AbortSignal, number][] = [
    ['a bad flag', new UsageError('bad flag'), live, 2],
    ['an image that is not one', new ImageError('not-image', 'x: not an image'), live, 2],
    ['a URL refused by the address rule', new ImageError('private-address', 'x: loopback'), live, 2],
    ['a download that failed', new ImageError('download', 'x: download failed (HTTP 503)', { status: 503 }), live, 4],
    ['no token', new ConfigError('no API token'), live, 3],
    ['401 from the relay', new APIError({ status: 401, message: 'bad token' }), live, 3],
    ['503 from the relay', new APIError({ status: 503, message: 'overloaded' }), live, 4],
    ['a refused connection', new APIConnectionError('connection refused'), live, 4],
    ['stdout could not be written', new OutputError('stdout', { code: 'ENOSPC' }), live, 6],
    ['a bug', new TypeError('x is undefined'), live, 1],
    ['Ctrl-C', new InterruptedError(), live, 130],
    ['SIGTERM while a request was in flight', new Error('aborted'), stoppedBy(signalStop('SIGTERM')), 143],
    ['SIGHUP', new InterruptedError(), stoppedBy(signalStop('SIGHUP')), 129],
    ['stdout failed while stopping', new InterruptedError(), stoppedBy(new OutputError('stdout', { code: 'EIO' })), 6],
    ['a usage error found before the stop', new UsageError('bad'), stoppedBy(signalStop('SIGINT')), 2],
  ];
  for (const [what, error, signal, code] of cases) assert.equal(failureOf(error, signal).exitCode, code, what);
});
