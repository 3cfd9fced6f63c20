import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideFailure, decideItem, type ItemFacts } from '../../../src/core/batch-decide.ts';

const file = (f: Partial<ItemFacts> = {}): ItemFacts => ({
  image: 'p/a.jpg',
  key: '/w/p/a.jpg',
  explicit: false,
  url: false,
  sidecar: undefined,
  overwrite: false,
  // the write targets were checked and are fine (their own cases below say otherwise)
  targets: null,
  // stat'ed, and no record knows it by size and time (its own cases below say otherwise)
  byRecord: 'read',
  ...f,
});
const side = (f: Partial<ItemFacts> = {}) => file({ sidecar: '/w/p/a.txt', ...f });
const known = { sha256: 'h', recordedOk: false } as const;
const loaded = { ...known, load: { ok: true } } as const;
const sideLoaded = { ...loaded, sidecarExists: false, folderUnwritable: null } as const;

test('decideItem: one line per case', () => {
  const cases: Array<[string, ItemFacts, ReturnType<typeof decideItem>]> = [
    ['a manifest row: first, is it inside the dataset', file({ confined: true }), { step: 'check-root' }],
    ['inside: on as usual', file({ confined: true, outside: null }), { step: 'hash' }],
    [
      'outside: failed, naming the row, before anything is read',
      side({ confined: true, outside: { row: 'rows.csv:3', root: '/w/ds' }, image: '../x.png' }),
      {
        step: 'fail',
        message: 'rows.csv:3: ../x.png is outside the dataset folder /w/ds; nothing was read (--allow-outside-root allows it)',
        code: 'outside-root',
      },
    ],
    ['a URL row has no folder to stay in', file({ confined: true, url: true, sha256: null }), { step: 'check-resume' }],
    ['--sidecar: its write targets are checked first', side({ targets: undefined }), { step: 'check-targets' }],
    ['--hf-metadata: the same', file({ hf: true, targets: undefined }), { step: 'check-targets' }],
    ['a URL writes no files: nothing to check', file({ url: true, hf: true, targets: undefined, sha256: null }), { step: 'check-resume' }],
    [
      'a planted link is refused before an existing sidecar could skip it',
      side({ targets: 'p/a.txt is a symbolic link', sidecarExists: true }),
      { step: 'fail', message: 'p/a.txt is a symbolic link; nothing was sent', code: 'refused-file' },
    ],
    ["a file is stat'ed first (resume by record)", file({ byRecord: undefined }), { step: 'stat' }],
    ['its ok record names its size and time: skipped unread', file({ byRecord: 'done' }), { step: 'skip', reason: 'done' }],
    ["a URL is not stat'ed", file({ url: true, byRecord: undefined, sha256: null }), { step: 'check-resume' }],
    [
      'a planted sidecar link is refused before the record could skip it',
      side({ targets: 'p/a.txt is a symbolic link', byRecord: 'done' }),
      { step: 'fail', message: 'p/a.txt is a symbolic link; nothing was sent', code: 'refused-file' },
    ],
    ['no record knows it by size and time: hashed', file(), { step: 'hash' }],
    ['then checked against the results file', file({ sha256: 'h' }), { step: 'check-resume' }],
    ['an unreadable file (no hash) is still checked', file({ sha256: null }), { step: 'check-resume' }],
    ['recorded ok already: skipped', file({ sha256: 'h', recordedOk: true }), { step: 'skip', reason: 'done' }],
    ['not done: loaded', file(known), { step: 'load' }],
    ['loaded: sent', file(loaded), { step: 'send' }],
    ['a URL is not hashed', file({ url: true, sha256: null }), { step: 'check-resume' }],
    [
      'a non-image found in a folder is skipped',
      file({ ...known, load: { ok: false, reason: 'not-image' } }),
      { step: 'skip', reason: 'not-image' },
    ],
    [
      'a non-image the user named fails',
      file({ ...known, explicit: true, load: { ok: false, reason: 'not-image' } }),
      { step: 'fail', message: null },
    ],
    ['a corrupt image in a folder fails', file({ ...known, load: { ok: false, reason: 'corrupt' } }), { step: 'fail', message: null }],
    ['--sidecar: first, does the sidecar exist', side(), { step: 'check-sidecar' }],
    ['--sidecar: an existing one skips the image before it is read', side({ sidecarExists: true }), { step: 'skip', reason: 'sidecar' }],
    ['--sidecar --overwrite: existing ones are not looked at', side({ overwrite: true }), { step: 'hash' }],
    ['--sidecar: its folder is checked once not done', side({ sidecarExists: false, ...known }), { step: 'check-folder' }],
    [
      '--sidecar: a done image is skipped before its folder is checked',
      side({ sidecarExists: false, sha256: 'h', recordedOk: true }),
      { step: 'skip', reason: 'done' },
    ],
    [
      '--sidecar: an unwritable folder fails without sending',
      side({ sidecarExists: false, ...known, folderUnwritable: 'EROFS' }),
      { step: 'fail', message: 'cannot write its sidecar /w/p/a.txt (EROFS); nothing was sent' },
    ],
    ['--sidecar: a writable folder, then load', side({ sidecarExists: false, ...known, folderUnwritable: null }), { step: 'load' }],
    ['--sidecar: loaded, then its name is claimed', side(sideLoaded), { step: 'claim-sidecar' }],
    ['--sidecar: claimed by no one else: sent', side({ ...sideLoaded, sidecarOwner: null }), { step: 'send' }],
    ['--sidecar: claimed by itself (a rerun claim): sent', side({ ...sideLoaded, sidecarOwner: 'p/a.jpg' }), { step: 'send' }],
    [
      '--sidecar: claimed by another image: fails, saying how not to',
      side({ ...sideLoaded, sidecarOwner: 'q/a.png' }),
      { step: 'fail', message: 'its sidecar a.txt would overwrite the one of q/a.png; --sidecar-name full names them a.jpg.txt' },
    ],
    [
      '--sidecar-name full: a clash names no remedy',
      side({ ...sideLoaded, sidecarOwner: 'q/a.png', sidecarFullName: true }),
      { step: 'fail', message: 'its sidecar a.txt would overwrite the one of q/a.png' },
    ],
    [
      '--sidecar: a named file that is its own sidecar fails once loaded',
      side({ ...sideLoaded, key: '/w/p/a.txt', explicit: true }),
      { step: 'fail', message: 'its sidecar would overwrite the image itself' },
    ],
    [
      '--sidecar: a file that is its own sidecar is not skipped as having one: it is read',
      side({ key: '/w/p/a.txt', ...known, folderUnwritable: null }),
      { step: 'load' },
    ],
    [
      '--sidecar: a text file that is its own sidecar is a non-image, like on any other run',
      side({ key: '/w/p/a.txt', ...known, folderUnwritable: null, load: { ok: false, reason: 'not-image' } }),
      { step: 'skip', reason: 'not-image' },
    ],
    ["--hf-metadata: first, has its folder's file a caption for it", file({ hf: true }), { step: 'check-hf' }],
    [
      '--hf-metadata: a caption there skips the image before it is read',
      file({ hf: true, hfCaptioned: true }),
      { step: 'skip', reason: 'captioned' },
    ],
    ['--hf-metadata --existing append: not looked at', file({ hf: true, overwrite: true }), { step: 'hash' }],
    [
      '--hf-metadata: no caption yet, then its folder is checked',
      file({ hf: true, hfCaptioned: false, ...known }),
      { step: 'check-folder' },
    ],
    [
      '--hf-metadata: an unwritable folder fails without sending',
      file({ hf: true, hfCaptioned: false, ...known, folderUnwritable: 'EACCES' }),
      { step: 'fail', message: "cannot write its folder's metadata.jsonl (EACCES); nothing was sent" },
    ],
    ['--hf-metadata: a URL has no folder', file({ hf: true, url: true, sha256: null, recordedOk: false }), { step: 'load' }],
    [
      '--xmp/--embed: a done image is skipped before its metadata is read',
      file({ photo: true, sha256: 'h', recordedOk: true }),
      { step: 'skip', reason: 'done' },
    ],
    ['--xmp/--embed: not done, is it described already', file({ photo: true, ...known }), { step: 'check-described' }],
    [
      '--xmp/--embed: described already: skipped before it is read',
      file({ photo: true, ...known, described: true }),
      { step: 'skip', reason: 'described' },
    ],
    ['--xmp/--embed --existing append: not looked at', file({ photo: true, overwrite: true, ...known }), { step: 'check-folder' }],
    [
      '--xmp/--embed: not described, then its folder is checked',
      file({ photo: true, ...known, described: false }),
      { step: 'check-folder' },
    ],
    [
      '--xmp/--embed: an unwritable folder fails without sending',
      file({ photo: true, ...known, described: false, folderUnwritable: 'EROFS' }),
      { step: 'fail', message: 'cannot write its metadata (EROFS); nothing was sent' },
    ],
    ['--xmp/--embed: writable, then load', file({ photo: true, ...known, described: false, folderUnwritable: null }), { step: 'load' }],
    [
      '--xmp: an earlier sidecar listed with the folder is no image',
      file({ photo: true, key: '/w/p/a.jpg.xmp' }),
      { step: 'skip', reason: 'not-image' },
    ],
    ['--xmp: a sidecar the user named is read like any file', file({ photo: true, key: '/w/p/a.XMP', explicit: true }), { step: 'hash' }],
    [
      '--xmp/--embed: a URL has no metadata to read or write',
      file({ photo: true, url: true, sha256: null, recordedOk: false }),
      { step: 'load' },
    ],
  ];
  for (const [name, facts, want] of cases) assert.deepEqual(decideItem(facts), want, name);
});

test('decideFailure: one line per case', () => {
  const base = { unwritable: false, interrupted: false, stopped: false, isStop: false, auth: false, authSeen: false };
  const cases: Array<[string, Partial<typeof base>, ReturnType<typeof decideFailure>]> = [
    ['an API failure is recorded', {}, 'record'],
    ['a sidecar that cannot be written (disk full) stops the batch', { unwritable: true }, 'stop-batch'],
    ['... even while stopping', { unwritable: true, stopped: true }, 'stop-batch'],
    ['Ctrl-C: dropped (a rerun redoes it)', { interrupted: true, isStop: true }, 'drop'],
    ['Ctrl-C while another error came back: dropped', { interrupted: true }, 'drop'],
    ['aborted by the stop after a 401: dropped', { stopped: true, isStop: true }, 'drop'],
    ['stopped, yet a real failure came back: recorded', { stopped: true }, 'record'],
    ['the first 401/403 is recorded and stops the batch', { auth: true }, 'record-and-stop'],
    ['a later 401/403 is dropped', { auth: true, authSeen: true, stopped: true }, 'drop'],
  ];
  for (const [name, f, want] of cases) assert.equal(decideFailure({ ...base, ...f }), want, name);
});
