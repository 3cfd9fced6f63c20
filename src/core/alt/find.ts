// Finds the images of a Markdown, MDX or HTML document and where each one's alt text is written,
// from the positions of a real parser's syntax tree (remark for Markdown and MDX, parse5 for HTML
// and for raw <img> tags inside Markdown). Images in code blocks and inline code are code, not
// images: the parsers never report them. Nothing here reads or writes files.
import type { DefaultTreeAdapterMap } from 'parse5';
import { escapeHtmlAttr, escapeMarkdownAlt, isPlaceholderAlt, type AltContext } from './text.ts';

export type DocKind = 'markdown' | 'mdx' | 'html';

/** What the alt text of an image is like: `ok` needs nothing; `decorative` is an HTML `alt=""`. */
export type AltState = 'missing' | 'placeholder' | 'decorative' | 'ok';

/** Where alt text goes, as offsets into the document's text. */
export type AltSite =
  /** Between `![` and its `]` (an inline image, or a full reference `![alt][ref]`). */
  | { kind: 'brackets'; start: number; end: number; mdx: boolean }
  /** `![label]` or `![label][]`: the label names the definition, so it becomes `![alt][label]`. */
  | { kind: 'label'; start: number; end: number; label: string; mdx: boolean }
  /** An `alt` attribute that is there, replaced whole (`alt=image` → `alt="…"`). */
  | { kind: 'attr'; start: number; end: number }
  /** No `alt` attribute: one is added after the last attribute. */
  | { kind: 'insert'; at: number };

export interface FoundImage {
  /** The image's source as the document gives it (a reference image: its definition's URL). */
  src: string;
  /** The alt text as a reader gets it; null when there is no alt attribute at all. */
  alt: string | null;
  state: AltState;
  /** Where the image is, 1-based. */
  line: number;
  column: number;
  site: AltSite;
  context: AltContext;
}

export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The edit that writes `alt` at a site: only the bytes of the alt text (or its attribute) change. */
export function editFor(site: AltSite, alt: string): Edit {
  switch (site.kind) {
    case 'brackets':
      return { start: site.start, end: site.end, text: escapeMarkdownAlt(alt, site.mdx) };
    case 'label':
      return { start: site.start, end: site.end, text: `${escapeMarkdownAlt(alt, site.mdx)}][${site.label}]` };
    case 'attr':
      return { start: site.start, end: site.end, text: `alt="${escapeHtmlAttr(alt)}"` };
    case 'insert':
      return { start: site.at, end: site.at, text: ` alt="${escapeHtmlAttr(alt)}"` };
  }
}

/** The text with the edits made; edits that overlap are a bug in the finder, not something to guess at. */
export function applyEdits(text: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new Error(`overlapping alt text edits at offset ${e.start}`);
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

/** 1-based line and column of an offset. */
function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The index of the `]` that closes the bracket opened just before `from`, skipping backslash
 * escapes and nested brackets; -1 when there is none before `limit`.
 */
function closingBracket(text: string, from: number, limit: number): number {
  let depth = 0;
  for (let i = from; i < limit; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

function stateOf(alt: string | null, src: string, emptyIsDecorative: boolean): AltState {
  if (alt === null) return 'missing';
  if (alt === '') return emptyIsDecorative ? 'decorative' : 'missing';
  return isPlaceholderAlt(alt, src) ? 'placeholder' : 'ok';
}

// ---------------------------------------------------------------- HTML (parse5)

type P5Node = DefaultTreeAdapterMap['node'];
type P5Element = DefaultTreeAdapterMap['element'];

const SKIP_TEXT = new Set(['script', 'style', 'template', 'noscript']);
const BLOCKS = new Set(['p', 'figure', 'li', 'td', 'th', 'caption', 'dd', 'dt', 'blockquote', 'section', 'article', 'div']);

function childrenOf(n: P5Node): P5Node[] {
  const c = (n as { childNodes?: P5Node[] }).childNodes ?? [];
  const content = (n as { content?: { childNodes?: P5Node[] } }).content;
  return content?.childNodes ? [...c, ...content.childNodes] : c;
}

function isElement(n: P5Node): n is P5Element {
  return 'tagName' in n;
}

function htmlText(n: P5Node, except?: P5Node): string {
  if (n === except) return '';
  if (n.nodeName === '#text') return (n as DefaultTreeAdapterMap['textNode']).value;
  if (isElement(n) && SKIP_TEXT.has(n.tagName)) return '';
  if (isElement(n) && n.tagName === 'img') return n.attrs.find((a) => a.name === 'alt')?.value ?? '';
  return childrenOf(n)
    .map((c) => htmlText(c, except))
    .join(isElement(n) && BLOCKS.has(n.tagName) ? ' ' : '');
}

function imgSource(el: P5Element): string | undefined {
  const attr = (name: string) => el.attrs.find((a) => a.name === name)?.value.trim();
  const src = attr('src') || attr('data-src');
  if (src) return src;
  const srcset = attr('srcset');
  return srcset ? srcset.split(',')[0]?.trim().split(/\s+/)[0] : undefined;
}

/**
 * The <img> elements of an HTML document (or fragment, at `base` in a larger text). `outer`
 * gives the context from outside the fragment (a Markdown document's heading and paragraph).
 */
export async function findHtmlImages(
  text: string,
  opts: { fragment?: boolean; base?: number; whole?: string; outer?: (imgText: string) => AltContext } = {},
): Promise<FoundImage[]> {
  const { parse, parseFragment } = await import('parse5');
  const root: P5Node = opts.fragment
    ? (parseFragment(text, { sourceCodeLocationInfo: true }) as P5Node)
    : (parse(text, { sourceCodeLocationInfo: true }) as P5Node);
  const base = opts.base ?? 0;
  const whole = opts.whole ?? text;
  const found: FoundImage[] = [];
  let heading: string | undefined;
  const walk = (n: P5Node, ancestors: P5Node[]): void => {
    if (isElement(n) && /^h[1-6]$/.test(n.tagName)) heading = htmlText(n).replace(/\s+/g, ' ').trim() || heading;
    if (isElement(n) && n.tagName === 'img') {
      const src = imgSource(n);
      const loc = n.sourceCodeLocation;
      if (src && loc?.startTag) {
        const altAttr = n.attrs.find((a) => a.name === 'alt');
        const alt = altAttr ? altAttr.value : null;
        const altLoc = loc.attrs?.['alt'];
        let site: AltSite;
        if (altLoc) site = { kind: 'attr', start: base + altLoc.startOffset, end: base + altLoc.endOffset };
        else {
          const ends = Object.values(loc.attrs ?? {}).map((a) => a.endOffset);
          site = { kind: 'insert', at: base + (ends.length ? Math.max(...ends) : loc.startTag.startOffset + 4) };
        }
        let context: AltContext;
        if (opts.outer) context = opts.outer(htmlText(ancestors.at(-1) ?? n, n));
        else {
          const block = [...ancestors].reverse().find((a) => isElement(a) && BLOCKS.has(a.tagName));
          let around = block ? htmlText(block, n).replace(/\s+/g, ' ').trim() : '';
          if (!around && block) around = neighbourText(block, ancestors);
          context = { heading, text: around || undefined };
        }
        // Named another way (aria-label, aria-labelledby) or marked as not content (role="none"):
        // the author has said what a screen reader gets.
        const attr = (name: string) => n.attrs.find((a) => a.name === name)?.value.trim();
        const named =
          alt === null && (!!attr('aria-label') || !!attr('aria-labelledby') || /^(none|presentation)$/i.test(attr('role') ?? ''));
        found.push({
          src,
          alt,
          state: named ? 'ok' : stateOf(alt, src, true),
          ...lineCol(whole, base + loc.startTag.startOffset),
          site,
          context,
        });
      }
    }
    const next = [...ancestors, n];
    for (const c of childrenOf(n)) walk(c, next);
  };
  walk(root, []);
  return found;
}

/** The text of the block's previous (else next) sibling with text, when the block holds only the image. */
function neighbourText(block: P5Node, ancestors: P5Node[]): string {
  const parent = ancestors[ancestors.indexOf(block) - 1];
  if (!parent) return '';
  const siblings = childrenOf(parent as P5Node).filter(isElement);
  const i = siblings.indexOf(block as P5Element);
  for (const s of [siblings[i - 1], siblings[i + 1]]) {
    const t = s ? htmlText(s).replace(/\s+/g, ' ').trim() : '';
    if (t) return t;
  }
  return '';
}

// ---------------------------------------------------------------- Markdown and MDX (remark)

interface MdNode {
  type: string;
  position?: { start: { offset?: number }; end: { offset?: number } };
  children?: MdNode[];
  value?: string;
  alt?: string | null;
  url?: string;
  identifier?: string;
  label?: string | null;
  referenceType?: 'full' | 'collapsed' | 'shortcut';
  depth?: number;
  name?: string | null;
  attributes?: { type: string; name?: string; value?: unknown; position?: MdNode['position'] }[];
}

const start = (n: MdNode) => n.position?.start.offset ?? 0;
const end = (n: MdNode) => n.position?.end.offset ?? 0;

function mdText(n: MdNode, except?: MdNode): string {
  if (n === except) return '';
  if (n.type === 'text' || n.type === 'inlineCode') return n.value ?? '';
  if (n.type === 'image' || n.type === 'imageReference') return n.alt ?? '';
  if (n.type === 'html') return (n.value ?? '').replace(/<[^>]*>/g, ' ');
  return (n.children ?? []).map((c) => mdText(c, except)).join(PHRASING_PARENTS.has(n.type) ? '' : ' ');
}

/** Nodes whose children are running text: joined as they are, not word by word. */
const PHRASING_PARENTS = new Set(['paragraph', 'heading', 'emphasis', 'strong', 'delete', 'link', 'linkReference', 'tableCell']);

const MD_BLOCKS = new Set(['paragraph', 'tableCell', 'heading', 'listItem', 'blockquote', 'mdxJsxFlowElement']);

export async function findMarkdownImages(text: string, mdx: boolean): Promise<FoundImage[]> {
  const [{ unified }, { default: remarkParse }, { default: remarkGfm }, { default: remarkFrontmatter }] = await Promise.all([
    import('unified'),
    import('remark-parse'),
    import('remark-gfm'),
    import('remark-frontmatter'),
  ]);
  let processor = unified().use(remarkParse).use(remarkGfm).use(remarkFrontmatter, ['yaml', 'toml']);
  if (mdx) {
    const { default: remarkMdx } = await import('remark-mdx');
    processor = processor.use(remarkMdx) as unknown as typeof processor;
  }
  const tree = processor.parse(text) as unknown as MdNode;

  const definitions = new Map<string, string>();
  const headings: { at: number; text: string }[] = [];
  const visit = (n: MdNode, f: (n: MdNode, ancestors: MdNode[]) => void, ancestors: MdNode[] = []) => {
    f(n, ancestors);
    for (const c of n.children ?? []) visit(c, f, [...ancestors, n]);
  };
  visit(tree, (n) => {
    if (n.type === 'definition' && n.identifier && n.url !== undefined && !definitions.has(n.identifier))
      definitions.set(n.identifier, n.url);
    if (n.type === 'heading') headings.push({ at: start(n), text: mdText(n).replace(/\s+/g, ' ').trim() });
  });
  const headingBefore = (at: number) => headings.filter((h) => h.at < at).at(-1)?.text || undefined;
  const contextOf = (image: MdNode, ancestors: MdNode[]): AltContext => {
    // The innermost block around the image; a raw HTML block or MDX element at the top stands for itself.
    let blockIndex = ancestors.map((a) => MD_BLOCKS.has(a.type)).lastIndexOf(true);
    const chain = blockIndex === -1 ? [...ancestors, image] : ancestors;
    if (blockIndex === -1) blockIndex = chain.length - 1;
    const block = chain[blockIndex];
    let around = block && block !== image ? mdText(block, image).replace(/\s+/g, ' ').trim() : '';
    if (!around && block) {
      const siblings = chain[blockIndex - 1]?.children ?? [];
      const i = siblings.indexOf(block);
      for (const s of [siblings[i - 1], siblings[i + 1]]) {
        const t = s && s.type !== 'code' ? mdText(s).replace(/\s+/g, ' ').trim() : '';
        if (t) {
          around = t;
          break;
        }
      }
    }
    return { heading: headingBefore(start(image)), text: around || undefined };
  };

  const found: FoundImage[] = [];
  const htmlNodes: { node: MdNode; ancestors: MdNode[] }[] = [];
  visit(tree, (n, ancestors) => {
    if (n.type === 'image' || n.type === 'imageReference') {
      const src = n.type === 'image' ? (n.url ?? '') : definitions.get(n.identifier ?? '');
      if (src === undefined) return;
      const s = start(n);
      const e = end(n);
      let site: AltSite;
      if (n.type === 'imageReference' && n.referenceType !== 'full') {
        site = { kind: 'label', start: s + 2, end: e, label: n.label ?? n.identifier ?? '', mdx };
      } else {
        const close = closingBracket(text, s + 2, e);
        if (close === -1) return;
        site = { kind: 'brackets', start: s + 2, end: close, mdx };
      }
      // A shortcut or collapsed reference's text is its label: a label is not a description
      // unless it reads as one.
      const alt = n.alt ?? '';
      found.push({ src, alt, state: stateOf(alt, src, false), ...lineCol(text, s), site, context: contextOf(n, ancestors) });
    } else if (n.type === 'html') {
      htmlNodes.push({ node: n, ancestors });
    } else if ((n.type === 'mdxJsxFlowElement' || n.type === 'mdxJsxTextElement') && n.name === 'img') {
      const img = jsxImage(n, text, contextOf(n, ancestors));
      if (img) found.push(img);
    }
  });
  for (const { node, ancestors } of htmlNodes) {
    if (!/<img\b/i.test(node.value ?? '')) continue;
    // The source text, not node.value: inside a list or quote the value has its prefixes removed.
    const s = start(node);
    const images = await findHtmlImages(text.slice(s, end(node)), {
      fragment: true,
      base: s,
      whole: text,
      outer: (inside) => {
        const c = contextOf(node, ancestors);
        const t = inside.replace(/\s+/g, ' ').trim();
        return t ? { heading: c.heading, text: t } : c;
      },
    });
    found.push(...images);
  }
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** An MDX `<img … />`: its attributes carry their own positions. */
function jsxImage(n: MdNode, text: string, context: AltContext): FoundImage | undefined {
  const attrs = n.attributes ?? [];
  const named = (name: string) => attrs.find((a) => a.type === 'mdxJsxAttribute' && a.name === name);
  const srcAttr = named('src');
  if (!srcAttr || typeof srcAttr.value !== 'string') return undefined;
  const src = srcAttr.value;
  const altAttr = named('alt');
  let site: AltSite;
  let alt: string | null = null;
  if (altAttr) {
    // alt={expression}: whatever it computes is the author's; leave it.
    if (typeof altAttr.value !== 'string' && altAttr.value !== null && altAttr.value !== undefined) return undefined;
    alt = typeof altAttr.value === 'string' ? altAttr.value : '';
    if (!altAttr.position) return undefined;
    site = { kind: 'attr', start: start(altAttr as MdNode), end: end(altAttr as MdNode) };
  } else {
    const ends = attrs.map((a) => end(a as MdNode)).filter((x) => x > 0);
    if (!ends.length) return undefined;
    site = { kind: 'insert', at: Math.max(...ends) };
  }
  return { src, alt, state: stateOf(alt, src, true), ...lineCol(text, start(n)), site, context };
}

/** The images of a document of any kind. */
export function findImages(text: string, kind: DocKind): Promise<FoundImage[]> {
  return kind === 'html' ? findHtmlImages(text) : findMarkdownImages(text, kind === 'mdx');
}

/** The kind of a document by its extension, or undefined for a file that is not one. */
export function docKind(path: string): DocKind | undefined {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext === 'md' || ext === 'markdown') return 'markdown';
  if (ext === 'mdx') return 'mdx';
  if (ext === 'html' || ext === 'htm') return 'html';
  return undefined;
}
