// What goes into a caption file: the model's caption joined with a trigger word, and merged with a
// caption that is already there. Pure.

export type ExistingMode = 'skip' | 'overwrite' | 'append' | 'prepend';
export const EXISTING_MODES: readonly ExistingMode[] = ['skip', 'overwrite', 'append', 'prepend'];

export interface CaptionStyle {
  prefix?: string | undefined;
  suffix?: string | undefined;
  /** Between prefix, caption and suffix; default ", ". */
  join?: string | undefined;
}

export const DEFAULT_JOIN = ', ';

/**
 * `prefix + join + caption + join + suffix`. Joined in code because a model asked to add a trigger
 * word forgets it about half the time; when it did add it, it is not added twice. A caption's final
 * full stop goes when a suffix follows after a separator that starts with punctuation
 * ("a dog on a beach, ohwx style", not "a dog on a beach., ohwx style").
 */
export function composeCaption(caption: string, style: CaptionStyle): string {
  const join = style.join ?? DEFAULT_JOIN;
  let text = caption.trim();
  const prefix = style.prefix?.trim();
  const suffix = style.suffix?.trim();
  if (suffix && !endsWithWord(text, suffix)) {
    if (/^\s*[,;|/·、，；]/.test(join)) text = text.replace(/[.。]+$/, '');
    text = text ? text + join + suffix : suffix;
  }
  if (prefix && !startsWithWord(text, prefix)) text = text ? prefix + join + text : prefix;
  return text;
}

/** `text` starts with `word` as a whole word (case-insensitive): "ohwx, a dog" starts with "ohwx", "ohwxyz" does not. */
function startsWithWord(text: string, word: string): boolean {
  return text.toLowerCase().startsWith(word.toLowerCase()) && !/[\p{L}\p{N}_]/u.test(text.charAt(word.length));
}

function endsWithWord(text: string, word: string): boolean {
  const t = text.replace(/[.。!]+$/, '');
  return t.toLowerCase().endsWith(word.toLowerCase()) && !/[\p{L}\p{N}_]/u.test(t.charAt(t.length - word.length - 1));
}

/**
 * The text to write where a caption may already exist; undefined: leave the file as it is.
 * append / prepend put the new caption on its own line, and do not add a line that is already there
 * (a rerun would otherwise repeat it).
 */
export function mergeCaption(existing: string | undefined, caption: string, mode: ExistingMode): string | undefined {
  const old = existing?.replace(/\s+$/, '') ?? '';
  if (old === '' || mode === 'overwrite') return caption.trimEnd() + '\n';
  if (mode === 'skip') return undefined;
  const line = caption.trim();
  if (old.split('\n').some((l) => l.trim() === line)) return old + '\n';
  return mode === 'append' ? `${old}\n${line}\n` : `${line}\n${old}\n`;
}

/** Whether an image whose caption file exists (or not) is sent at all. */
export function needsCaption(exists: boolean, mode: ExistingMode): boolean {
  return !exists || mode !== 'skip';
}
