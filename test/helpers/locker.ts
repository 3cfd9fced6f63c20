// Takes the lock for argv[2] argv[3] times (test/unit/lock.test.ts runs several at once) and prints
// how many times it found another holder inside: each holder creates `<path>.inside` exclusively.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { waitLock } from '../../src/lock.ts';

const [path, rounds] = [process.argv[2] as string, Number(process.argv[3])];
let overlaps = 0;
for (let i = 0; i < rounds; i++) {
  const lock = await waitLock(path, { timeoutMs: 60_000 });
  try {
    closeSync(openSync(`${path}.inside`, 'wx'));
  } catch {
    overlaps++;
  }
  await new Promise((r) => setTimeout(r, 1));
  try {
    unlinkSync(`${path}.inside`);
  } catch {}
  await lock.release();
}
process.stdout.write(String(overlaps));
