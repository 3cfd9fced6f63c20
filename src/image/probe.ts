// The test picture doctor and init send: small, made here, the same every time.
import { loadSharp } from './prepare.ts';

/**
 * A 64×64 PNG (a red square on white) as a data: URL. Small enough to cost a handful of tokens,
 * large enough for every provider's minimum size.
 */
export async function probeImageDataUrl(): Promise<string> {
  const sharp = await loadSharp();
  const square = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 220, g: 30, b: 30 } } })
    .png()
    .toBuffer();
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([{ input: square, left: 16, top: 16 }])
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
