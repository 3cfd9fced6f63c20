// `imgdesc log` over a history of 1,000,000 records: `npm run bench -- log` (after `npm run build`).
// Prints figures, asserts nothing (issue #22: `imgdesc log --search` over a million records answers
// in under a second). The history (about 1.3 GB: each record a detailed description of about 150
// words, as a vision model writes them) is made once and kept in the temp folder for the next run:
// $TMPDIR/imgdesc-bench-log/<N>-v2/imgdesc/history.jsonl (BENCH_HISTORY=N records, default 1,000,000).
// The floors beside the figures are this machine at this moment: reading the file, and GNU grep.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtBin, median } from './bench-relay.mjs';

const BIN = builtBin();
delete process.env.NODE_EXTRA_CA_CERTS;
const N = Number(process.env.BENCH_HISTORY ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const state = join(tmpdir(), 'imgdesc-bench-log', `${N}-v2`);
const file = join(state, 'imgdesc', 'history.jsonl');

if (!existsSync(file)) {
  mkdirSync(join(state, 'imgdesc'), { recursive: true, mode: 0o700 });
  const words =
    'a the brown white small large dog cat terrier marsh boardwalk sunset beach wet light shadow tree sky cloud water grass road car red blue green window door street person standing sitting near behind with under over'.split(
      ' ',
    );
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  let lines = [];
  for (let i = 0; i < N; i++) {
    let answer = '';
    for (let w = 0; w < 150; w++) answer += words[(i * 31 + w * 7 + ((w * w) % 13)) % words.length] + ' ';
    const rec = {
      // as newId makes them: the time, then 4 characters that differ from one record to the next
      id: (t0 + i * 1000).toString(36).padStart(9, '0') + ((i * 1_048_573) % 36 ** 4).toString(36).padStart(4, '0'),
      time: new Date(t0 + i * 1000).toISOString(),
      command: i % 3 ? 'batch' : 'describe',
      image: `photos/IMG_${String(i).padStart(7, '0')}.jpg`,
      path: `/home/me/photos/IMG_${String(i).padStart(7, '0')}.jpg`,
      sha256: ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(8),
      prompt: 'What is in this picture? Please describe it in detail.',
      model: i % 4 ? 'claude-sonnet-4-5-20250929' : 'gpt-4o',
      tokens: { prompt: 1200, completion: 160, total: 1360 },
      duration_ms: 1500 + (i % 700),
      ok: true,
      finish_reason: 'stop',
      answer: answer.trim(),
    };
    lines.push(JSON.stringify(rec));
    if (lines.length === 10_000) {
      writeSync(fd, lines.join('\n') + '\n');
      lines = [];
    }
  }
  if (lines.length) writeSync(fd, lines.join('\n') + '\n');
  closeSync(fd);
  renameSync(tmp, file);
}

const env = {
  PATH: process.env.PATH,
  HOME: state,
  XDG_CONFIG_HOME: join(state, 'config'),
  XDG_CACHE_HOME: join(state, 'cache'),
  XDG_STATE_HOME: state,
  NO_COLOR: '1',
  TERM: 'dumb',
};
function time(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && !(cmd === 'sh' && r.status === 1)) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { ms, lines: r.stdout.toString().split('\n').filter(Boolean).length };
}
const log = (args, note = '') => ({ name: `imgdesc log ${args.join(' ')}`, note, cmd: process.execPath, args: [BIN, 'log', ...args] });
const cases = [
  { name: 'node -e 0', note: 'the start of a process', cmd: process.execPath, args: ['-e', '0'] },
  log(['-n', '20'], 'the latest 20'),
  log(['--search', 'zebra'], 'absent: found in no block of the index'),
  log(['--search', 'Zebra Crossing'], 'absent, two words'),
  log(['--search', 'terrier'], 'common: found near the end'),
  log(['--search', 'IMG_0000123.jpg'], 'one record, near the start'),
  log(['--search', 'brown brown'], 'absent, every trigram common: every block read'),
  log(['--search', 'The The'], 'absent, one common trigram: every block read'),
  log(['--search', 'finish'], "in no answer, in every record's keys (finish_reason)"),
  log(['--search', 'ok'], 'two letters (no trigram): in no answer, in every record ("ok":true)'),
  log(['--search', 'hh'], 'two common letters, in no record: the whole file read'),
  log(['--search', 'q'], 'one letter: in no answer, in many ids'),
  log(['-n', '0', '--since', '2026-01-12T12:00:00Z'], 'every record of the last 12 hours, read forward'),
  log(['--model', 'gpt-4o'], 'the latest 20 of one model'),
  log(['--model', 'gpt-5'], 'absent model: found in no block'),
  log(['--failed'], 'no failure: found in no block'),
  log(['--image', 'IMG_0000042'], 'one image, near the start'),
  log(['show', (Date.parse('2026-01-01T00:00:00Z') + 7 * 1000).toString(36).padStart(9, '0')], 'one record by its id, near the start'),
  { name: 'floor: cat history.jsonl > /dev/null', note: '', cmd: 'sh', args: ['-c', `cat "${file}" > /dev/null`] },
  { name: 'floor: grep -ci zebra history.jsonl', note: '', cmd: 'sh', args: ['-c', `grep -ci zebra "${file}"`] },
];
// The index beside the history is made by the first query that needs it (then kept, and extended
// as the history grows): timed once here, from nothing.
rmSync(join(state, 'imgdesc', 'history.index'), { force: true });
const built = time(process.execPath, [BIN, 'log', '--search', 'zebra']);
const times = cases.map(() => []);
const found = cases.map(() => 0);
const load0 = loadavg();
// interleaved, so that the machine's noise falls on every case alike
for (let i = 0; i < RUNS; i++)
  cases.forEach((c, j) => {
    const r = time(c.cmd, c.args);
    times[j].push(r.ms);
    found[j] = r.lines;
  });
const load1 = loadavg();
console.log(
  `## imgdesc log: ${N.toLocaleString('en-US')} records, ${(statSync(file).size / 1e9).toFixed(2)} GB; ${RUNS} runs each, medians (target: --search under 1 s)`,
);
console.log(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} before, ${load1.map((l) => l.toFixed(2)).join(' ')} after (2 cores)`);
const indexFile = join(state, 'imgdesc', 'history.index');
console.log(
  existsSync(indexFile)
    ? `  the first query, making the index from nothing (${(statSync(indexFile).size / 1e6).toFixed(1)} MB): ${built.ms.toFixed(0)} ms, once`
    : '  no index: a history this small is searched whole',
);
const w = Math.max(...cases.map((c) => c.name.length));
cases.forEach((c, j) => {
  const ms = median(times[j]);
  const spread = `${Math.min(...times[j]).toFixed(0)}–${Math.max(...times[j]).toFixed(0)}`;
  const lines = c.cmd === process.execPath && c.args[0] !== '-e' ? `${found[j]} line(s)` : '';
  console.log(`  ${c.name.padEnd(w)} ${ms.toFixed(0).padStart(6)} ms  (${spread})  ${lines.padEnd(12)} ${c.note}`);
});
