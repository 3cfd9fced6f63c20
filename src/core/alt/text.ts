// Pure decisions of `imgdesc alt` about text: what counts as missing alt text, how alt text is
// escaped for where it goes, and how an answer becomes alt text.
import { basename, extname } from 'node:path/posix';
import { cleanAnswer } from '../../safe-text.ts';

/** Alt text that says nothing: screen readers would read it as noise. Compared case-insensitively. */
const PLACEHOLDERS = new Set([
  'image',
  'img',
  'screenshot',
  'screen shot',
  'picture',
  'pic',
  'photo',
  'alt',
  'alt text',
  'alttext',
  'figure',
]);

/** `My_Screen-shot.PNG` → `my screen shot png`: case and separators do not make a name a description. */
function words(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\s_\-.]+/g, ' ')
    .trim();
}

/** The last path segment of an image source, percent-decoded where it can be, without query or fragment. */
export function sourceName(src: string): string {
  const bare = src.replace(/[?#].*$/s, '');
  const name = basename(bare);
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * Whether alt text is missing in substance: empty, a placeholder word ("image", "screenshot" …),
 * or just the image's file name (`chart.png`) or its stem (`chart`).
 */
export function isPlaceholderAlt(alt: string, src: string): boolean {
  const plain = alt
    .trim()
    .replace(/[.:!]+$/, '')
    .toLowerCase();
  if (plain === '' || PLACEHOLDERS.has(words(plain))) return true;
  const name = sourceName(src).toLowerCase();
  if (!name) return false;
  const stem = name.slice(0, name.length - extname(name).length);
  if (plain === name || plain === stem) return true;
  // `commit_and_push` for commit_and_push-compressed.gif: an identifier made of the file name's
  // words, not prose someone wrote ("venacus logo" for venacus-logo.svg is prose).
  const identifier = !/\s/.test(plain) && /[_-]/.test(plain);
  const stemWords = new Set(words(stem).split(' '));
  return (
    identifier &&
    words(plain)
      .split(' ')
      .every((w) => stemWords.has(w))
  );
}

/**
 * Alt text inside Markdown's `![…]`: backslash-escapes every character that would otherwise be
 * read as markup (brackets, emphasis, code, HTML, character references), and in MDX the braces
 * of expressions. What a parser reads back is exactly the text.
 */
export function escapeMarkdownAlt(alt: string, mdx = false): string {
  const special = mdx ? /[\\[\]*_`<>&!{}]/g : /[\\[\]*_`<>&!]/g;
  return alt.replace(special, (c) => `\\${c}`);
}

/** An HTML (or JSX) attribute value in double quotes. */
export function escapeHtmlAttr(alt: string): string {
  return alt.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface AltContext {
  /** The nearest heading before the image. */
  heading?: string | undefined;
  /** The paragraph around the image (or beside it, when the image stands alone). */
  text?: string | undefined;
}

/** At most `n` characters of `s` on one line, cut at a word. */
function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  if (one.length <= n) return one;
  const cut = one.slice(0, n);
  const space = cut.lastIndexOf(' ');
  return `${space > n / 2 ? cut.slice(0, space) : cut}…`;
}

/** The prompt for one image's alt text. */
export function altPrompt(maxChars: number, context: AltContext | undefined): string {
  const lines = [
    `Write the alt text for this image, for a reader who cannot see it: one or two sentences, at most ${maxChars} characters.`,
    'Say what the image shows and what it is there to convey. Do not begin with "Image of", "Picture of" or "Screenshot of" unless that matters; do not guess names that are not visible.',
    'Answer with the alt text only: no quotes, no preamble, no Markdown.',
  ];
  if (context?.heading || context?.text) {
    lines.push('', 'Where the image appears in the document (for context; describe the image, not this text):');
    if (context.heading) lines.push(`Section: ${clip(context.heading, 200)}`);
    if (context.text) lines.push(`Text around it: ${clip(context.text, 600)}`);
  }
  return lines.join('\n');
}

export type AltAnswer = { ok: true; alt: string } | { ok: false; reason: string };

/**
 * An answer as alt text: one line, without wrapping quotes or an "Alt text:" label. Longer than
 * `maxChars`, it keeps the whole sentences that fit; when not even the first fits, nothing is
 * written (a cut sentence is worse than none).
 */
export function answerToAlt(answer: string, maxChars: number): AltAnswer {
  // Written into the document: terminal control in the answer is removed, as for any text output.
  let s = cleanAnswer(answer).replace(/\s+/g, ' ').trim();
  s = s.replace(/^(alt(ernative)? text|alt)\s*:\s*/i, '');
  const quoted = /^(["'“”‘’`])(.*)(["'“”‘’`])$/s.exec(s);
  if (quoted) s = (quoted[2] ?? '').trim();
  if (s === '') return { ok: false, reason: 'the answer was empty' };
  if (s.length <= maxChars) return { ok: true, alt: s };
  const sentences = s.match(/[^.!?]+[.!?]+(?=\s|$)/g) ?? [];
  let kept = '';
  for (const sentence of sentences) {
    const next = kept ? `${kept} ${sentence.trim()}` : sentence.trim();
    if (next.length > maxChars) break;
    kept = next;
  }
  if (kept) return { ok: true, alt: kept };
  return { ok: false, reason: `the answer is longer than ${maxChars} characters (--max-chars) and has no sentence that fits` };
}
