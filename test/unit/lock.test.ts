import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { type Lock, lockHeld, lockPathFor, parseLock, tryLock, type ProcessFacts } from '../../src/lock.ts';

// The helper beside this file: locker.js when the tests run compiled (npm test), locker.ts through tsx.
const compiled = import.meta.url.endsWith('.js');
const LOCKER = fileURLToPath(new URL(`../helpers/locker.${compiled ? 'js' : 'ts'}`, import.meta.url));
const LOCKER_ARGS = compiled ? [LOCKER] : ['--import', 'tsx', LOCKER];

const facts = (over: Partial<ProcessFacts> = {}): ProcessFacts => ({
  host: 'here',
  running: (pid) => pid === 1 || pid === 4242,
  startOf: (pid) => (pid === 4242 ? '777' : pid === 1 ? '1' : undefined),
  commandOf: (pid) => (pid === 4242 ? 'node /usr/bin/imgdesc batch .' : pid === 1 ? '/sbin/init' : undefined),
  ...over,
});

test('parseLock reads the JSON line and the older pid-only form', () => {
  assert.deepEqual(parseLock('{"pid":12,"host":"h","start":"9","id":"ab"}\n'), { pid: 12, host: 'h', start: '9', id: 'ab' });
  assert.deepEqual(parseLock('12\n'), { pid: 12 });
  assert.equal(parseLock(''), undefined);
  assert.equal(parseLock('{"pid":0}'), undefined);
  assert.equal(parseLock('{"pid":'), undefined);
  assert.equal(parseLock('x'), undefined);
});

test('lockHeld: only a live imgdesc holds a lock', () => {
  assert.equal(lockHeld({ pid: 4242, host: 'here', start: '777', id: 'a' }, facts()), true, 'the holder itself');
  assert.equal(lockHeld({ pid: 4242, host: 'here', start: '555', id: 'a' }, facts()), false, 'its pid reused by a newer process');
  assert.equal(lockHeld({ pid: 999, host: 'here', start: '1', id: 'a' }, facts()), false, 'a pid that runs no more');
  assert.equal(lockHeld({ pid: 1 }, facts()), false, 'a planted lock naming PID 1 (init, not imgdesc)');
  assert.equal(lockHeld({ pid: 1, host: 'here', start: '0' }, facts()), false, 'a planted lock with a made-up start time');
  assert.equal(lockHeld({ pid: 4242 }, facts()), true, 'an older imgdesc (pid only) that runs');
  assert.equal(lockHeld({ pid: 1, host: 'elsewhere', start: '1' }, facts()), true, "another host's lock cannot be checked here");
  assert.equal(
    lockHeld({ pid: 4242, start: '777' }, facts({ startOf: () => undefined })),
    true,
    'no start times here: a running pid holds it',
  );
  assert.equal(lockHeld({ pid: 1 }, facts({ commandOf: () => undefined })), true, 'no command lines here: a running pid holds it');
});

test('tryLock: writes who holds it; a second take is refused; a planted PID 1 lock is taken over; release removes only ours', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdesc-lock-'));
  const path = join(dir, 'r.jsonl');
  const lock = await tryLock(path);
  assert.ok(!('heldBy' in lock));
  const info = parseLock(readFileSync(lockPathFor(path), 'utf8'));
  assert.equal(info?.pid, process.pid);
  assert.match(info?.id ?? '', /^[0-9a-f]{16}$/);
  const second = await tryLock(path);
  assert.deepEqual(second, { heldBy: process.pid, host: undefined, path: lockPathFor(path) });
  await lock.release();
  assert.equal(existsSync(lockPathFor(path)), false);

  writeFileSync(lockPathFor(path), '1\n');
  const taken = await tryLock(path);
  assert.ok(!('heldBy' in taken), 'PID 1 is not imgdesc: the planted lock is stale');
  // someone replaced our lock: releasing must not remove theirs
  writeFileSync(lockPathFor(path), '{"pid":1,"id":"theirs"}\n');
  await taken.release();
  assert.equal(existsSync(lockPathFor(path)), true);
});

test('tryLock: a stale lock replaced by a live one while it is checked is left alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdesc-lock-'));
  const path = join(dir, 'config.json');
  // pid 99 ran no more; while that is looked up, it had released and pid 4242 took the lock
  writeFileSync(lockPathFor(path), '{"pid":99,"host":"here","start":"5","id":"old"}\n');
  const live = '{"pid":4242,"host":"here","start":"777","id":"new"}\n';
  const got = await tryLock(
    path,
    facts({
      running: (pid) => {
        if (pid === 99) writeFileSync(lockPathFor(path), live);
        return pid === 4242;
      },
    }),
  );
  assert.deepEqual(got, { heldBy: 4242, host: undefined, path: lockPathFor(path) });
  assert.equal(readFileSync(lockPathFor(path), 'utf8'), live, 'the live lock is still there');
});

test('tryLock: of 20 takes at once exactly one wins, no lock file is ever seen empty, nothing is left beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdesc-lock-'));
  const path = join(dir, 'config.json');
  const seen: string[] = [];
  const watcher = setInterval(() => {
    try {
      seen.push(readFileSync(lockPathFor(path), 'utf8'));
    } catch {}
  }, 0);
  const takes = await Promise.all(Array.from({ length: 20 }, () => tryLock(path)));
  clearInterval(watcher);
  const won = takes.filter((t): t is Lock => !('heldBy' in t));
  assert.equal(won.length, 1);
  assert.ok(
    seen.every((t) => parseLock(t)?.pid === process.pid),
    `every read of the lock names its holder: ${JSON.stringify(seen)}`,
  );
  await won[0]!.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('waitLock: 8 processes taking it 40 times each are never inside at once (the config set race)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgdesc-lock-'));
  const path = join(dir, 'config.json');
  const overlaps = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, [...LOCKER_ARGS, path, '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`locker exited ${code}`))));
        }),
    ),
  );
  assert.deepEqual(overlaps, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(readdirSync(dir), []);
});
