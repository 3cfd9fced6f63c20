// npm run bench: prints speed and memory figures measured side by side in one run.
// Asserts nothing (the machines are shared and noisy); the figures go into notes and the README.
// Needs a build (`npm run build`). Talks only to a server it starts on 127.0.0.1.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { builtBin, completionBody, median } from './bench-relay.mjs';

const BIN = builtBin();
// Users rarely set it, and it costs Node 20 about 40 ms at every start: it would hide the ratios.
delete process.env.NODE_EXTRA_CA_CERTS;
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const work = mkdtempSync(join(tmpdir(), 'imgdesc-bench-'));
const only = process.argv.slice(2);
const want = (name) => only.length === 0 || only.includes(name);

function time(cmd, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Runs each command RUNS times, interleaved so that machine noise hits all of them alike. */
function compare(cases) {
  const times = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) cases.forEach((c, j) => times[j].push(time(c.cmd, c.args, c.opts)));
  return cases.map((c, j) => ({ name: c.name, ms: median(times[j]) }));
}

function table(title, rows, base) {
  console.log(`\n## ${title}`);
  for (const r of rows) {
    const ratio = base ? ` ${(r.ms / base).toFixed(2)}×` : '';
    console.log(`  ${r.name.padEnd(44)} ${r.ms.toFixed(1).padStart(8)} ms${ratio}`);
  }
}

function startRelay() {
  const body = completionBody('A photo.', { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => (n += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // no model set: imgdesc picks one from this list (once; then from its cache)
      if (req.method === 'GET')
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'claude-sonnet-4-5-20250929', object: 'model' }] }));
      if (req.headers['user-agent']?.startsWith('imgdesc/')) server.imgdescBytes += n;
      res.end(body);
    });
  });
  server.imgdescBytes = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const env = (url) => ({
  ...process.env,
  XDG_CONFIG_HOME: work,
  IMGDESC_BASE_URL: url,
  IMGDESC_TOKEN: 'sk-bench-0000',
  IMGDESC_MODEL: 'claude-sonnet-4-5-20250929',
  XDG_CACHE_HOME: join(work, 'cache'),
  // the history goes here, never into the real ~/.local/state
  XDG_STATE_HOME: join(work, 'state'),
  NO_COLOR: '1',
});
/** Empties the answer cache, so that the next describe is a miss (a request) again. */
const forgetAnswers = () => rmSync(join(work, 'cache', 'imgdesc', 'answers'), { recursive: true, force: true });

console.log(`imgdesc bench — node ${process.version}, ${RUNS} runs each, medians`);

if (want('startup')) {
  const rows = compare([
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    { name: 'imgdesc --version', cmd: process.execPath, args: [BIN, '--version'] },
    { name: 'imgdesc --help', cmd: process.execPath, args: [BIN, '--help'] },
    // not answered early: loads the commander program and every command's declaration
    { name: 'imgdesc describe --help', cmd: process.execPath, args: [BIN, 'describe', '--help'] },
  ]);
  table('startup', rows, rows[0].ms);
}

if (want('request')) {
  const server = await startRelay();
  const url = `http://127.0.0.1:${server.address().port}`;
  // A small upright JPEG without location: the common case, sent as it is.
  const photo = join(work, 'photo.jpg');
  writeFileSync(
    photo,
    await sharp({ create: { width: 800, height: 600, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .blur(2)
      .jpeg({ quality: 80 })
      .toBuffer(),
  );
  const prompt = 'What is in this picture? Please describe it in detail.';
  const model = 'claude-3-5-sonnet-20240620';
  const script = join(work, 'curl.sh');
  // The hand-written alternative: base64 + jq to build the body, curl to send it, jq to read it.
  writeFileSync(
    script,
    `#!/bin/sh\nset -e\nb64=$(base64 -w0 "$1")\njq -n --arg u "data:image/jpeg;base64,$b64" '{model:"${model}",messages:[{role:"user",content:[{type:"text",text:"${prompt}"},{type:"image_url",image_url:{url:$u}}]}]}' | curl -sS -X POST "$2/v1/chat/completions" -H "Authorization: Bearer $IMGDESC_TOKEN" -H 'Content-Type: application/json' --data-binary @- | jq -r '.choices[0].message.content'\n`,
  );
  const hasCurl = spawnSync('sh', ['-c', 'command -v curl && command -v jq && command -v base64']).status === 0;
  // The same request with the official SDK (a devDependency, used by this bench only).
  const sdk = join(work, 'sdk.mjs');
  writeFileSync(
    sdk,
    `import { readFileSync } from 'node:fs';
import OpenAI from ${JSON.stringify(new URL('../node_modules/openai/index.mjs', import.meta.url).href)};
const client = new OpenAI({ baseURL: process.argv[3] + '/v1', apiKey: process.env.IMGDESC_TOKEN, maxRetries: 2 });
const url = 'data:image/jpeg;base64,' + readFileSync(process.argv[2]).toString('base64');
const r = await client.chat.completions.create({ model: ${JSON.stringify(model)}, messages: [{ role: 'user', content: [{ type: 'text', text: ${JSON.stringify(prompt)} }, { type: 'image_url', image_url: { url } }] }] });
process.stdout.write(r.choices[0].message.content + '\\n');
`,
  );
  const hasSdk = existsSync(new URL('../node_modules/openai/index.mjs', import.meta.url));
  // The floor under any CLI on this stack: one bare POST with each HTTP client, and loading sharp.
  const post = (code) => ({ cmd: process.execPath, args: ['--liftoff-only', '--input-type=module', '-e', code] });
  const target = JSON.stringify(`${url}/v1/chat/completions`);
  const cases = [
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    // a miss each time (the answer cache emptied before each run): the request, its answer stored and logged
    {
      name: 'imgdesc photo.jpg (800x600, sent unchanged)',
      cmd: process.execPath,
      args: [BIN, photo],
      opts: { env: env(url) },
      before: forgetAnswers,
    },
    {
      name: 'imgdesc --json photo.jpg',
      cmd: process.execPath,
      args: [BIN, '--json', photo],
      opts: { env: env(url) },
      before: forgetAnswers,
    },
    {
      name: 'imgdesc photo.jpg, no model set (pick cached)',
      cmd: process.execPath,
      args: [BIN, photo],
      opts: { env: { ...env(url), IMGDESC_MODEL: '' } },
      before: forgetAnswers,
    },
    { name: 'imgdesc photo.jpg, answered from the answer cache', cmd: process.execPath, args: [BIN, photo], opts: { env: env(url) } },
  ];
  if (hasCurl) cases.push({ name: 'curl + base64 + jq script', cmd: 'sh', args: [script, photo, url], opts: { env: env(url) } });
  if (hasSdk) cases.push({ name: 'openai SDK script (node)', cmd: process.execPath, args: [sdk, photo, url], opts: { env: env(url) } });
  cases.push(
    {
      name: 'floor: one POST with undici (as bundled)',
      ...post(
        `const { request } = (await import(${JSON.stringify(undiciChunk())})).default; await (await request(${target}, { method: 'POST', body: '{}' })).body.text();`,
      ),
    },
    { name: 'floor: one POST with built-in fetch', ...post(`await (await fetch(${target}, { method: 'POST', body: '{}' })).text();`) },
    {
      name: 'floor: one POST with node:http',
      ...post(
        `import http from 'node:http'; await new Promise((r) => http.request(${target}, { method: 'POST' }, (res) => res.resume().on('end', r)).end('{}'));`,
      ),
    },
    { name: 'floor: loading sharp', cmd: process.execPath, args: ['--input-type=module', '-e', "await import('sharp')"] },
  );
  // run inside the event loop's reach: spawnSync would block the server, so use async spawns
  const times = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, c] of cases.entries()) {
      c.before?.();
      const t0 = performance.now();
      await new Promise((resolve, reject) => {
        const child = spawn(c.cmd, c.args, { stdio: 'ignore', cwd: new URL('..', import.meta.url).pathname, ...c.opts });
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${c.name} exited ${code}`))));
      });
      times[j].push(performance.now() - t0);
    }
  }
  const rows = cases.map((c, j) => ({ name: c.name, ms: median(times[j]) }));
  table('one request against a local relay that answers at once', rows, rows[0].ms);
  console.log(
    `  bytes uploaded per imgdesc request: ${Math.round(server.imgdescBytes / (RUNS * 2))} (image file ${statSync(photo).size} bytes; the cached run sends none)`,
  );
  server.close();
}

if (want('prepare')) {
  console.log('\n## image preparation (camera JPEGs with EXIF orientation 6 and GPS)');
  for (const [w, h] of [
    [4000, 3000],
    [6000, 4000],
  ]) {
    const file = join(work, `camera-${w}x${h}.jpg`);
    if (!existsSync(file)) {
      // Blurred noise at q92: about the size of a phone camera's JPEG (4.9 MB at 12 MP), and harder
      // to shrink than a real photo, so the figures are a worst case rather than flattering.
      await sharp({ create: { width: w, height: h, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
        .blur(0.8)
        .jpeg({ quality: 92 })
        .withMetadata({ orientation: 6 })
        .withExif({ IFD0: { Make: 'Bench' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
        .toFile(file);
    }
    const size = statSync(file).size;
    const times = [];
    let out = '';
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', prepareSnippet(file)], {
        encoding: 'utf8',
        cwd: new URL('..', import.meta.url).pathname,
      });
      if (r.status !== 0) throw new Error(r.stderr);
      const m = JSON.parse(r.stdout.trim().split('\n').at(-1));
      times.push(m.ms);
      out = m;
    }
    const ms = median(times);
    console.log(
      `  ${`${w}x${h} (${((w * h) / 1e6).toFixed(0)} MP) ${(size / 1048576).toFixed(2)} MiB`.padEnd(30)} → ${out.w}x${out.h}, ${(out.bytes / 1024).toFixed(0)} KiB sent (${((out.bytes / size) * 100).toFixed(1)}% of the original), prepared in ${ms.toFixed(0)} ms`,
    );
  }
}

if (want('photos')) {
  // Issue #14's targets, side by side: a 12 MP HEIC through the system's libheif and through the
  // WebAssembly decoder (and heif-convert alone, the floor), and a 12 MP Display P3 JPEG.
  console.log('\n## photos (12 MP, 4032x3024; medians; peak RSS of `imgdesc --dry-run`)');
  const root = new URL('..', import.meta.url).pathname;
  const jpg = join(work, 'phone-12mp.jpg');
  await sharp({ create: { width: 4032, height: 3024, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .blur(1.2)
    .jpeg({ quality: 92 })
    .toFile(jpg);
  const p3 = join(work, 'camera-p3-12mp.jpg');
  await sharp(jpg).withIccProfile('p3').jpeg({ quality: 92 }).toFile(p3);
  const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  const heic = join(work, 'phone-12mp.heic');
  if (has('heif-enc')) execFileSync('heif-enc', ['-q', '50', '-o', heic, jpg], { stdio: 'ignore' });
  else console.log('  heif-enc is missing (apt-get install libheif-examples): HEIC rows skipped');
  const heifTool = ['heif-dec', 'heif-convert'].find(has);
  // A PATH holding node only: no system libheif, so the WebAssembly decoder is used.
  const bare = join(work, 'node-only');
  mkdirSync(bare);
  symlinkSync(process.execPath, join(bare, 'node'));
  const prepared = (file, searchPath) => {
    const times = [];
    let out;
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', prepareSnippet(file, searchPath)], { encoding: 'utf8', cwd: root });
      if (r.status !== 0) throw new Error(r.stderr);
      out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      times.push(out.ms);
    }
    return { ...out, ms: median(times) };
  };
  const peak = (file, path) => {
    if (!existsSync('/usr/bin/time')) return null;
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--dry-run', file], {
      encoding: 'utf8',
      env: { ...env('http://127.0.0.1:9'), PATH: path },
    });
    return Number(r.stderr.trim().split('\n').at(-1)) / 1024;
  };
  const row = (name, ms, target, rss, rssTarget) =>
    console.log(
      `  ${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms${target ? ` (target ≤ ${target} ms)` : ''}${rss !== null && rss !== undefined ? `, peak RSS ${rss.toFixed(0)} MB${rssTarget ? ` (target ≤ ${rssTarget})` : ''}` : ''}`,
    );
  if (existsSync(heic)) {
    if (heifTool) {
      const times = [];
      for (let i = 0; i < Math.min(RUNS, 5); i++) times.push(time(heifTool, ['--quiet', '-q', '92', heic, join(work, 'floor.jpg')]));
      row(`${heifTool} alone (HEIC → JPEG)`, median(times));
      const sys = prepared(heic, process.env.PATH);
      row(`HEIC prepared, system libheif`, sys.ms, 1200, peak(heic, process.env.PATH), 200);
    } else console.log('  heif-dec/heif-convert is missing: system libheif row skipped');
    const wasm = prepared(heic, bare);
    row('HEIC prepared, WebAssembly decoder', wasm.ms, 2500, peak(heic, bare), 200);
    console.log(
      `  HEIC ${(statSync(heic).size / 1048576).toFixed(2)} MiB → ${wasm.w}x${wasm.h} ${wasm.mime}, ${(wasm.bytes / 1024).toFixed(0)} KiB sent`,
    );
  }
  const plain = prepared(jpg, bare);
  row('JPEG prepared, no colour profile', plain.ms, null, peak(jpg, bare));
  const wide = prepared(p3, bare);
  row('JPEG prepared, Display P3 profile', wide.ms, 150, peak(p3, bare));
}

/** The bundle's undici chunk, so the floor is measured as imgdesc loads it. */
function undiciChunk() {
  const dir = new URL('../dist/chunks/', import.meta.url);
  const name = readdirSync(dir).find((f) => f.startsWith('undici-') && f.endsWith('.js'));
  return new URL(name, dir).pathname;
}

function prepareSnippet(file, searchPath) {
  return `
import { loadImage } from './src/image/index.ts';
import sharp from 'sharp';
await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer(); // load libvips first
const t0 = performance.now();
const img = await loadImage(${JSON.stringify(file)}, { maxEdge: 1568, maxBytes: 5 * 1024 * 1024, resize: true, keepMetadata: false, inline: false, maxInputBytes: 50 * 1024 * 1024, timeoutMs: 30000${searchPath ? `, searchPath: ${JSON.stringify(searchPath)}` : ''} });
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, w: img.report.widthOut, h: img.report.heightOut, bytes: img.report.bytesOut, mime: img.mime, decoder: img.report.decoder ?? null }));`;
}

if (want('memory')) {
  const file = join(work, 'big-50mp.jpg');
  if (!existsSync(file)) {
    await sharp({ create: { width: 8660, height: 5774, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .jpeg({ quality: 90 })
      .toFile(file);
  }
  const hasTime = existsSync('/usr/bin/time');
  console.log('\n## peak memory');
  if (!hasTime) console.log('  /usr/bin/time is missing: skipped');
  else {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--dry-run', file], {
      encoding: 'utf8',
      env: env('http://127.0.0.1:9'),
    });
    const kb = Number(r.stderr.trim().split('\n').at(-1));
    console.log(
      `  imgdesc --dry-run on a 50 MP JPEG (${(statSync(file).size / 1048576).toFixed(1)} MiB): peak RSS ${(kb / 1024).toFixed(0)} MB`,
    );
  }
}

if (want('bombs')) {
  // Issue #19 item 3: each bomb refused with exit 2 in under 1 s and under 150 MB peak RSS. Built by
  // test/helpers/bombs.ts (the same builders the tests use), run as `imgdesc --dry-run <bomb>`.
  console.log('\n## bombs (imgdesc --dry-run; wall time and peak RSS of the process; target: exit 2, < 1 s, < 150 MB)');
  const root = new URL('..', import.meta.url).pathname;
  const dir = join(work, 'bombs');
  mkdirSync(dir, { recursive: true });
  const made = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { writeFileSync } from 'node:fs';
import * as b from './test/helpers/bombs.ts';
const files = {
  'png-100000x100000-1bit.png': b.pngBomb({ width: 100000, height: 100000 }),
  'png-61600x61600-8bit.png': b.pngBomb({ width: 61600, height: 61600, depth: 8 }),
  'png-1000x1000-inflating-2GB.png': b.pngBomb({ width: 1000, height: 1000, depth: 8, extra: 2e9 }),
  'png-16000x16000-rgba-zeros.png': b.pngBomb({ width: 16000, height: 16000, depth: 8, colour: 6 }),
  'jpeg-65535x65535.jpg': b.jpegBomb(65535, 65535),
  'gif-65535x65535.gif': b.gifBomb(65535, 65535),
  'webp-100000x100000.webp': b.webpBomb(100000, 100000),
  'bmp-100000x100000.bmp': b.bmpBomb(100000, 100000),
};
for (const [name, bytes] of Object.entries(files)) writeFileSync(${JSON.stringify(dir)} + '/' + name, bytes);`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(made.stderr);
  const hasTime = existsSync('/usr/bin/time');
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    const t0 = performance.now();
    const r = hasTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--dry-run', file], {
          encoding: 'utf8',
          env: env('http://127.0.0.1:9'),
        })
      : spawnSync(process.execPath, [BIN, '--dry-run', file], { encoding: 'utf8', env: env('http://127.0.0.1:9') });
    const ms = performance.now() - t0;
    const lines = r.stderr.trim().split('\n');
    const rss = hasTime ? `${(Number(lines.pop()) / 1024).toFixed(0)} MB` : 'n/a';
    const code = hasTime ? (/exited with non-zero status (\d+)/.exec(r.stderr)?.[1] ?? '0') : String(r.status);
    const said = lines.find((l) => l.startsWith('error:'))?.replace(/^error: \S+: /, '') ?? '(sent)';
    console.log(
      `  ${`${name} (${(statSync(file).size / 1e6).toFixed(1)} MB)`.padEnd(46)} exit ${code} ${ms.toFixed(0).padStart(6)} ms ${rss.padStart(7)}  ${said}`,
    );
  }
}

if (want('log') || want('history')) {
  // issue #22: imgdesc log over a history of 1,000,000 records (made once, kept in the temp folder)
  console.log('');
  execFileSync(process.execPath, [new URL('./bench-log.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}

if (want('pace')) {
  // Several minutes: every row of issue #23's table at -c 4, 16 and 64.
  console.log('');
  execFileSync(process.execPath, [new URL('./bench-pace.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}

if (want('resume')) {
  // Minutes: 100,000 done images and 10 new, a rerun of the batch (issue #23 item 5).
  console.log('');
  execFileSync(process.execPath, [new URL('./bench-resume.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}

if (want('deadline')) {
  // Issue #19 item 4: preparation ends by its deadline. A 2.4 KB SVG with 20 feGaussianBlur
  // filters (stdDeviation 1000) rendered with the default deadline and with --prepare-timeout 2;
  // and the price of rendering an ordinary SVG in its own process.
  console.log('\n## preparation deadline (imgdesc --dry-run; wall time and peak RSS)');
  const root = new URL('..', import.meta.url).pathname;
  const blur = join(work, 'blur20.svg');
  const made = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { writeFileSync } from 'node:fs'; import { svgBlurBomb } from './test/helpers/bombs.ts'; writeFileSync(${JSON.stringify(blur)}, svgBlurBomb(20));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(made.stderr);
  const plain = join(work, 'plain.svg');
  writeFileSync(
    plain,
    '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#369"/><circle cx="400" cy="300" r="200" fill="#fc0"/></svg>',
  );
  const once = (file, extra = []) => {
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--dry-run', ...extra, file], {
      encoding: 'utf8',
      env: env('http://127.0.0.1:9'),
    });
    const ms = performance.now() - t0;
    const lines = r.stderr.trim().split('\n');
    const rss = Number(lines.pop()) / 1024;
    const code = /exited with non-zero status (\d+)/.exec(r.stderr)?.[1] ?? '0';
    return { ms, rss, code, said: lines.find((l) => l.startsWith('error:'))?.replace(/^error: \S+: /, '') ?? '(prepared)' };
  };
  if (!existsSync('/usr/bin/time')) console.log('  /usr/bin/time is missing: skipped');
  else {
    for (const [name, file, extra] of [
      ['blur bomb, default deadline', blur, []],
      ['blur bomb, --prepare-timeout 2', blur, ['--prepare-timeout', '2']],
    ]) {
      const r = once(file, extra);
      console.log(`  ${name.padEnd(36)} exit ${r.code} ${r.ms.toFixed(0).padStart(6)} ms ${r.rss.toFixed(0).padStart(5)} MB  ${r.said}`);
    }
    const times = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) times.push(once(plain).ms);
    console.log(`  ${'ordinary 800x600 SVG (median of 5)'.padEnd(36)} ${median(times).toFixed(0).padStart(13)} ms`);
  }
}

if (want('cache')) {
  // Several minutes: issue #22's batch of misses with the cache off and on, and all hits.
  console.log('');
  execFileSync(process.execPath, [new URL('./bench-cache.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}

if (want('cache-size')) {
  // issue #22: a cache over its size (about 550 MB, made once): info, prune, and describes over it
  console.log('');
  execFileSync(process.execPath, [new URL('./bench-cache-size.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}

if (want('batch')) {
  const script = new URL('./bench-batch.mjs', import.meta.url).pathname;
  if (existsSync(script)) {
    console.log('');
    execFileSync(process.execPath, [script], { stdio: 'inherit' });
  }
}
