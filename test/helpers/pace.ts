// What the pace tests share (pace.test.ts, pace-stops.test.ts): a folder of small distinct PNGs,
// a relay that answers after a delay, and the records a batch printed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, type Handler, sendJson } from './server.ts';
import { tempDir } from './cli.ts';

/** A temp folder with `n` distinct 8x8 PNGs in p/. */
export async function images(n: number): Promise<string> {
  const dir = tempDir();
  mkdirSync(join(dir, 'p'));
  for (let i = 0; i < n; i++) {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 9, g: 40, b: 7 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'p', `i${String(i).padStart(3, '0')}.png`), png);
  }
  return dir;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON lines of a batch's output. */
export const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Answers after `ms`. */
export const okAfter = async (res: Parameters<Handler>[1], ms: number) => {
  await delay(ms);
  sendJson(res, 200, completion('A small square.'));
};
