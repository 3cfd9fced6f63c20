// Issue 19 item 1 on a real terminal: the built imgdesc runs in tmux against a relay that answers
// with OSC 52 (clipboard), OSC 0/2 (title) and CSI 2J (clear screen). Afterwards the pane's title,
// tmux's paste buffers (set-clipboard on: OSC 52 lands there) and the screen are as they were.
// The --raw case is the control: the same answer, kept byte for byte, does set the title.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { BIN, TOKEN, tempDir } from '../helpers/cli.ts';

const ESC = '\x1b';
const BEL = '\x07';
const CLIPBOARD = `${ESC}]52;c;${Buffer.from('pwned-clipboard').toString('base64')}${BEL}`;
const TITLE = `${ESC}]2;pwned-title${BEL}`;
const CLEAR = `${ESC}[2J${ESC}[H`;
const HOSTILE = `A cat${CLIPBOARD} on${TITLE} a mat.${CLEAR}`;

const noTmux = spawnSync('tmux', ['-V']).status === 0 ? false : 'skipped: tmux is not installed';
// A tmux server of its own for each command: killing a server's last session ends the server, and a
// next session on the same socket could reach it while it exits ("server exited unexpectedly").
const sockets: string[] = [];
const execFileP = promisify(execFile);

let server: TestServer | undefined;
let dir = '';
before(async () => {
  if (noTmux) return;
  server = await startServer((req, res) => {
    if (req.method === 'GET') {
      sendJson(res, 200, { object: 'list', data: [{ id: `claude-sonnet-4-5${CLIPBOARD}${TITLE}`, object: 'model' }] });
      return;
    }
    sendJson(res, 200, completion(HOSTILE, { model: `model${TITLE}` }));
  });
  dir = tempDir();
  const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 20, g: 90, b: 200 } } })
    .png()
    .toBuffer();
  writeFileSync(join(dir, 'a.png'), png);
  // A picture cut short (refused as corrupt) whose name carries OSC 52, a title and a newline.
  writeFileSync(join(dir, `b${CLIPBOARD}${TITLE}\nerror: forged.png`), png.subarray(0, 60));
});
after(async () => {
  await server?.close();
  if (!noTmux) for (const socket of sockets) spawnSync('tmux', ['-L', socket, 'kill-server']);
});

/** Runs a command in a fresh tmux pane; returns the pane's title, the paste buffers and the screen after it. */
async function inTmux(args: string): Promise<{ title: string; buffers: string; screen: string }> {
  const session = `s${Math.random().toString(36).slice(2, 8)}`;
  const socket = `imgdesc-hostile-${process.pid}-${sockets.length + 1}`;
  sockets.push(socket);
  const tmux = (...command: string[]) => execFileSync('tmux', ['-L', socket, ...command], { encoding: 'utf8' });
  const env = [
    `IMGDESC_BASE_URL=${server?.url}`,
    `IMGDESC_TOKEN=${TOKEN}`,
    'IMGDESC_MODEL=claude-3-5-sonnet-20240620',
    `XDG_CONFIG_HOME=${dir}/cfg`,
    `XDG_CACHE_HOME=${dir}/cache`,
    `XDG_STATE_HOME=${dir}/state`,
    'NODE_EXTRA_CA_CERTS=',
  ].join(' ');
  // One tmux client for the session and its options (`;` separates tmux commands).
  tmux(
    ...['-f', '/dev/null', 'new-session', '-d', '-s', session, '-x', '160', '-y', '40', 'sh', ';'],
    ...['set', '-g', 'set-clipboard', 'on', ';', 'set', '-g', 'allow-rename', 'on', ';'],
    ...['select-pane', '-t', session, '-T', 'before'],
  );
  // The pane's shell wakes this test through a tmux channel once the command is done, instead of
  // the screen being captured every 100 ms until DONE shows (a tmux client each time).
  tmux(
    'send-keys',
    '-t',
    session,
    `cd ${dir} && echo MARKER-BEFORE && env ${env} ${process.execPath} ${BIN} ${args}; echo DONE-$?; tmux -L ${socket} wait-for -S ${session}`,
    'Enter',
  );
  // Waited for without blocking: the relay answering the command runs in this process.
  await execFileP('tmux', ['-L', socket, 'wait-for', session], { timeout: 60_000 }).catch(() => undefined);
  const screen = tmux('capture-pane', '-p', '-t', session, '-S', '-100');
  const title = tmux('display', '-p', '-t', session, '#{pane_title}').trim();
  const buffers = tmux('list-buffers');
  tmux('kill-server');
  return { title, buffers, screen };
}

test('describe: a hostile answer changes neither title, clipboard nor screen', { skip: noTmux }, async () => {
  const r = await inTmux('a.png -v');
  assert.match(r.screen, /DONE-0/, r.screen);
  assert.match(r.screen, /MARKER-BEFORE/, 'the screen was not cleared');
  assert.match(r.screen, /A cat on a mat\./);
  assert.equal(r.title, 'before');
  assert.equal(r.buffers, '');
});

test('batch: a file name with OSC 52, a title and a newline; hostile answers in sidecars', { skip: noTmux }, async () => {
  const r = await inTmux('batch . --sidecar -o out.jsonl');
  assert.match(r.screen, /DONE-5/, r.screen);
  assert.match(r.screen, /MARKER-BEFORE/);
  assert.match(r.screen, /b\\x1b\]52;c;/, 'the file name is shown escaped');
  assert.equal(r.screen.split('\n').filter((l) => l.startsWith('error: forged')).length, 0, 'no forged line');
  assert.equal(r.title, 'before');
  assert.equal(r.buffers, '');
  const cat = await inTmux('--version && cat a.txt out.jsonl');
  assert.match(cat.screen, /MARKER-BEFORE/);
  assert.equal(cat.title, 'before');
  assert.equal(cat.buffers, '');
});

test('models: hostile model ids change neither title nor clipboard', { skip: noTmux }, async () => {
  const r = await inTmux('models');
  assert.match(r.screen, /DONE-0/, r.screen);
  assert.match(r.screen, /claude-sonnet-4-5\\x1b\]52/);
  assert.equal(r.title, 'before');
  assert.equal(r.buffers, '');
});

test('control: with --raw the same answer does reach the terminal', { skip: noTmux }, async () => {
  const r = await inTmux('a.png --raw');
  assert.equal(r.title, 'pwned-title');
  assert.match(r.buffers, /pwned-clipboard/);
});
