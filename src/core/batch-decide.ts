// The decisions of a batch, as pure functions: given what is known about an image so far, what to
// do next; given how a request ended, what the batch does about it. The flow (batch.ts) only finds
// the facts these ask for and carries the decisions out, so every rule is tested one line per case.
import { basename, extname } from 'node:path';
import { firstLine } from '../format.ts';

/**
 * done: recorded ok in -o; sidecar: has one; captioned: has a line in its folder's metadata.jsonl;
 * described: --xmp/--embed and the photo or its XMP sidecar carries a description.
 */
export type SkipReason = 'done' | 'sidecar' | 'captioned' | 'described' | 'not-image';

/** What is known about one image. Fields start undefined and are filled in as the flow learns them. */
export interface ItemFacts {
  /** The path as given (what results name it by). */
  image: string;
  /** Absolute path (the URL itself for URLs). */
  key: string;
  /** Named by the user: a non-image is a failure, not a skip. */
  explicit: boolean;
  url: boolean;
  /** Where its sidecar goes; undefined without --sidecar (and for URLs). */
  sidecar: string | undefined;
  /** --existing is not skip: an existing sidecar or metadata line does not make an image skipped. */
  overwrite: boolean;
  /** --hf-metadata: the caption goes into its folder's metadata.jsonl. */
  hf?: boolean | undefined;
  /** Its folder's metadata.jsonl has a caption for it already. */
  hfCaptioned?: boolean | undefined;
  /** --xmp or --embed: the description goes into photo metadata. */
  photo?: boolean | undefined;
  /** The photo, or its XMP sidecar, carries a description already. */
  described?: boolean | undefined;
  /** Whether the sidecar file exists already. */
  sidecarExists?: boolean | undefined;
  /**
   * What its results-file records say before it is read (resume): `done` when an ok record names
   * the size and modification time it has now, else `read`. Not asked for URLs.
   */
  byRecord?: 'done' | 'read' | undefined;
  /** Its sha256; null when it cannot be read (the image layer says why). Not asked for URLs. */
  sha256?: string | null | undefined;
  /** An earlier run recorded the same path and bytes ok (resume). */
  recordedOk?: boolean | undefined;
  /** Whether the sidecar's folder takes new files: null when it does, else why not (an errno code). */
  folderUnwritable?: string | null | undefined;
  /** How reading and preparing it went: ok, or the failure's reason (`not-image`, `corrupt` ...). */
  load?: { ok: true } | { ok: false; reason: string | undefined } | undefined;
  /** The image that claimed the same sidecar first, null when none did. */
  sidecarOwner?: string | null | undefined;
  /** --sidecar-name full is in force (then a clash cannot come from a shared stem). */
  sidecarFullName?: boolean | undefined;
  /**
   * The files its results would be written to (sidecar, XMP sidecar, metadata.jsonl), checked:
   * null when each is absent or a regular file, else why one is refused (a planted link ...).
   */
  targets?: string | null | undefined;
  /** A manifest row's file, which must stay inside the dataset's folder. */
  confined?: boolean | undefined;
  /** Whether it does (null), or the row that names it and the folder it is outside of. */
  outside?: { row: string; root: string } | null | undefined;
}

export type ItemStep =
  | { step: 'check-root' }
  | { step: 'check-targets' }
  | { step: 'check-sidecar' }
  | { step: 'check-hf' }
  | { step: 'check-described' }
  | { step: 'stat' }
  | { step: 'hash' }
  | { step: 'check-resume' }
  | { step: 'check-folder' }
  | { step: 'load' }
  | { step: 'claim-sidecar' }
  | { step: 'skip'; reason: SkipReason }
  /** A failed record without sending; `message` is null when the load error says it all. */
  | { step: 'fail'; message: string | null; code?: string }
  | { step: 'send' };

/**
 * The next thing to do for one image. Cheap checks come first, so nothing is read, hashed or sent
 * that a rerun would skip or a full folder would throw away.
 */
export function decideItem(f: ItemFacts): ItemStep {
  // An XMP sidecar of an earlier --xmp run, listed with the folder's photos: not one of them.
  if (f.photo && !f.explicit && /\.xmp$/i.test(f.key)) return { step: 'skip', reason: 'not-image' };
  // Before it is read, hashed or gets a sidecar: a row naming a file outside the dataset.
  if (f.confined && !f.url) {
    if (f.outside === undefined) return { step: 'check-root' };
    if (f.outside !== null)
      return {
        step: 'fail',
        message: `${f.outside.row}: ${f.image} is outside the dataset folder ${f.outside.root}; nothing was read (--allow-outside-root allows it)`,
        code: 'outside-root',
      };
  }
  // Before an existing sidecar can make it skipped: a link planted as its sidecar is refused.
  if (f.sidecar !== undefined || ((f.hf || f.photo) && !f.url)) {
    if (f.targets === undefined) return { step: 'check-targets' };
    if (f.targets !== null) return { step: 'fail', message: `${f.targets}; nothing was sent`, code: 'refused-file' };
  }
  // A file is not its own sidecar (README.txt with --sidecar txt): it is read, and a non-image is
  // skipped as one, the same on every run; an image there fails below rather than be overwritten.
  if (f.sidecar !== undefined && f.sidecar !== f.key) {
    if (!f.overwrite) {
      if (f.sidecarExists === undefined) return { step: 'check-sidecar' };
      if (f.sidecarExists) return { step: 'skip', reason: 'sidecar' };
    }
  }
  if (f.hf && !f.url && !f.overwrite) {
    if (f.hfCaptioned === undefined) return { step: 'check-hf' };
    if (f.hfCaptioned) return { step: 'skip', reason: 'captioned' };
  }
  // Known by its record's size and time: skipped without being opened (a big rerun starts at once).
  if (!f.url && f.byRecord === undefined) return { step: 'stat' };
  if (f.byRecord === 'done') return { step: 'skip', reason: 'done' };
  if (!f.url && f.sha256 === undefined) return { step: 'hash' };
  if (f.recordedOk === undefined) return { step: 'check-resume' };
  if (f.recordedOk) return { step: 'skip', reason: 'done' };
  if (f.photo && !f.url && !f.overwrite) {
    if (f.described === undefined) return { step: 'check-described' };
    if (f.described) return { step: 'skip', reason: 'described' };
  }
  if (f.sidecar !== undefined || ((f.hf || f.photo) && !f.url)) {
    if (f.folderUnwritable === undefined) return { step: 'check-folder' };
    const what = f.sidecar !== undefined ? `its sidecar ${f.sidecar}` : f.hf ? "its folder's metadata.jsonl" : 'its metadata';
    if (f.folderUnwritable !== null) return { step: 'fail', message: `cannot write ${what} (${f.folderUnwritable}); nothing was sent` };
  }
  if (f.load === undefined) return { step: 'load' };
  if (!f.load.ok)
    return !f.explicit && f.load.reason === 'not-image' ? { step: 'skip', reason: 'not-image' } : { step: 'fail', message: null };
  if (f.sidecar !== undefined) {
    // Claimed once the file is known to be an image, so a stray text file cannot take a name.
    if (f.sidecar === f.key) return { step: 'fail', message: 'its sidecar would overwrite the image itself' };
    if (f.sidecarOwner === undefined) return { step: 'claim-sidecar' };
    if (f.sidecarOwner !== null && f.sidecarOwner !== f.image) {
      const way = f.sidecarFullName ? '' : `; --sidecar-name full names them ${basename(f.image)}${extname(f.sidecar)}`;
      return { step: 'fail', message: `its sidecar ${basename(f.sidecar)} would overwrite the one of ${f.sidecarOwner}${way}` };
    }
  }
  return { step: 'send' };
}

/** What the batch does about a request that ended in an error. */
export type FailureAction =
  /** Its results could not be written (disk full): nothing more can be, so the batch stops (exit 6). */
  | 'stop-batch'
  /** Stopping (Ctrl-C, or another image's 401 stopped the batch): not recorded, a rerun redoes it. */
  | 'drop'
  /** The first 401/403: record it, stop sending, abort the rest. */
  | 'record-and-stop'
  | 'record';

export function decideFailure(f: {
  unwritable: boolean;
  interrupted: boolean;
  stopped: boolean;
  isStop: boolean;
  auth: boolean;
  authSeen: boolean;
}): FailureAction {
  if (f.unwritable) return 'stop-batch';
  if (f.interrupted || (f.stopped && f.isStop)) return 'drop';
  if (f.auth) return f.authSeen ? 'drop' : 'record-and-stop';
  return 'record';
}

export interface BatchError {
  status: number | null;
  code: string | null;
  message: string;
}

/** What goes into the `error` of a failed record. */
export function errorInfo(err: unknown): BatchError {
  const e = err as { status?: unknown; code?: unknown; reason?: unknown; name?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : null;
  let code: string | null = null;
  if (typeof e?.reason === 'string')
    code = e.reason; // ImageError: not-image, corrupt, not-found ...
  else if (typeof e?.code === 'string') code = e.code;
  else if (e?.name === 'InvalidResponseError') code = 'invalid_response';
  return { status, code, message: firstLine(err) };
}
