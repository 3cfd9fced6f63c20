// Text from outside (answers, relay messages, model ids, file names) on its way to a terminal or a
// file someone will `cat`: never raw terminal control. Pure functions, shared by every layer's
// sinks (Term, renderers, answer output, sidecars, JSON lines).

/** C0 except tab, DEL, C1, and the bidi embedding/override/isolate controls (Trojan Source). */
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
/** The same, keeping newlines: for blocks of outside text shown as they are laid out (reasoning). */
const UNSAFE_KEEP_NL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For messages on stderr: every control character shown escaped (`\x1b`, `\n`, `\u202e`), tab kept. */
export function visible(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** As visible(), but newlines kept: a multi-line block of outside text (reasoning). */
export function visibleBlock(text: string): string {
  return text.replace(UNSAFE_KEEP_NL, escapeChar);
}

/** Colour codes as chalk writes them (`ESC[31m`, `ESC[38;5;12m`, `ESC[39m`): the only control we emit in a line. */
const SGR = /\x1b\[[0-9;]*m/g;

/**
 * For a line we composed with colours: our SGR colour codes kept, every other control escaped.
 * Outside text inside it must have gone through visible() first (a colour code in it would pass).
 */
export function visibleStyled(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(SGR)) {
    out += visible(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + visible(text.slice(last));
}

/**
 * Whole escape sequences (ECMA-48): CSI `ESC [` (or 0x9b) with its parameters and final byte;
 * OSC, DCS, SOS, PM and APC (`ESC ] P X ^ _`, or 0x9d 0x90 0x98 0x9e 0x9f) up to BEL or ST (or the
 * end: a terminal would swallow the rest too); any other ESC with its intermediates and final byte.
 */
const SEQUENCE =
  /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)|\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
/** What remains to drop after the sequences: C0 except tab and newline, DEL, C1. */
const STRAY = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * An answer printed as plain text (stdout, .txt sidecars): escape sequences removed whole, then
 * every other C0 control but tab and newline, DEL and C1. Printable text, bidi included, is kept.
 */
export function cleanAnswer(text: string): string {
  return text.replace(SEQUENCE, '').replace(STRAY, '');
}

/** Control characters a JSON text may carry raw (in strings) that a terminal acts on. */
const JSON_UNSAFE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A JSON text with C1, DEL and bidi controls written as `\u009b` escapes: the same JSON value, but
 * nothing a terminal acts on when it is printed. (A stray C0 is escaped too; raw, it was invalid.)
 */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
