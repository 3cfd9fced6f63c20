// `imgdesc alt`'s pure decisions, one line per case: placeholders, escaping, answers, sources,
// and where each kind of image's alt text is found and written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyEdits, docKind, editFor, findImages, type DocKind } from '../../../src/core/alt/find.ts';
import { imageSource } from '../../../src/core/alt/docs.ts';
import { altPrompt, answerToAlt, escapeHtmlAttr, escapeMarkdownAlt, isPlaceholderAlt } from '../../../src/core/alt/text.ts';

describe('isPlaceholderAlt', () => {
  const cases: [string, string, boolean][] = [
    ['', 'a.png', true],
    ['   ', 'a.png', true],
    ['image', 'a.png', true],
    ['Screenshot', 'a.png', true],
    ['IMG', 'a.png', true],
    ['picture', 'a.png', true],
    ['Alt text', 'a.png', true],
    ['chart.png', 'docs/chart.png', true],
    ['chart', 'docs/chart.png', true],
    ['Chart', 'docs/chart.png?raw=true', true],
    ['my shot', 'img/my%20shot.png', true],
    ['commit_and_push', '../assets/demo/commit_and_push-compressed.gif', true],
    ['stm (1)', 'images/stm (1).png', true],
    ['venacus logo', 'images/venacus-logo.svg', false],
    ['undo', '../assets/demo/undo-compressed.gif', false],
    ['Nuke working tree', 'nuke_working_tree-compressed.gif', false],
    ['A bar chart of sales by month', 'chart.png', false],
  ];
  for (const [alt, src, want] of cases)
    test(`${JSON.stringify(alt)} for ${src} → ${want}`, () => assert.equal(isPlaceholderAlt(alt, src), want));
});

describe('escaping', () => {
  const md: [string, boolean, string][] = [
    ['plain words', false, 'plain words'],
    ['a [chart] of *sales*', false, 'a \\[chart\\] of \\*sales\\*'],
    ['back\\slash & <tag> `code` _x_ !', false, 'back\\\\slash \\& \\<tag\\> \\`code\\` \\_x\\_ \\!'],
    ['{expr}', true, '\\{expr\\}'],
    ['{expr}', false, '{expr}'],
  ];
  for (const [alt, mdx, want] of md) test(`markdown${mdx ? ' (mdx)' : ''}: ${alt}`, () => assert.equal(escapeMarkdownAlt(alt, mdx), want));
  test('html attribute', () => assert.equal(escapeHtmlAttr(`Tom & "Jerry" <3 'x'`), `Tom &amp; &quot;Jerry&quot; &lt;3 'x'`));
});

describe('answerToAlt', () => {
  const cases: [string, number, ReturnType<typeof answerToAlt>][] = [
    ['A red dinosaur.', 125, { ok: true, alt: 'A red dinosaur.' }],
    ['  A red\n\ndinosaur.  ', 125, { ok: true, alt: 'A red dinosaur.' }],
    ['"A red dinosaur."', 125, { ok: true, alt: 'A red dinosaur.' }],
    ['Alt text: A red dinosaur.', 125, { ok: true, alt: 'A red dinosaur.' }],
    ['A red dinosaur. It has teeth. It stands upright like a person would.', 30, { ok: true, alt: 'A red dinosaur. It has teeth.' }],
    [
      'A red dinosaur standing upright with sharp teeth',
      20,
      { ok: false, reason: 'the answer is longer than 20 characters (--max-chars) and has no sentence that fits' },
    ],
    ['   ', 125, { ok: false, reason: 'the answer was empty' }],
  ];
  for (const [answer, max, want] of cases)
    test(`${JSON.stringify(answer)} (max ${max})`, () => assert.deepEqual(answerToAlt(answer, max), want));
});

test('altPrompt: the limit always, the context only when given', () => {
  const bare = altPrompt(125, undefined);
  assert.match(bare, /at most 125 characters/);
  assert.doesNotMatch(bare, /Section:/);
  const withContext = altPrompt(80, { heading: 'Install', text: 'Run the installer and click Next.' });
  assert.match(withContext, /at most 80 characters/);
  assert.match(withContext, /Section: Install/);
  assert.match(withContext, /Text around it: Run the installer and click Next\./);
});

describe('imageSource', () => {
  const doc = '/site/docs/guide.md';
  const cases: [string, string | undefined, ReturnType<typeof imageSource>][] = [
    ['img/a.png', undefined, { ok: true, key: '/site/docs/img/a.png', source: '/site/docs/img/a.png', url: false }],
    ['../a.png?raw=true#x', undefined, { ok: true, key: '/site/a.png', source: '/site/a.png', url: false }],
    ['my%20shot.png', undefined, { ok: true, key: '/site/docs/my shot.png', source: '/site/docs/my shot.png', url: false }],
    ['/img/a.png', '/site/public', { ok: true, key: '/site/public/img/a.png', source: '/site/public/img/a.png', url: false }],
    ['/img/a.png', undefined, { ok: false, reason: "/img/a.png: a site path; give --site-root DIR to say where the site's files are" }],
    [
      'https://example.com/a.png',
      undefined,
      { ok: true, key: 'https://example.com/a.png', source: 'https://example.com/a.png', url: true },
    ],
    [
      '//cdn.example.com/a.png',
      undefined,
      { ok: true, key: 'https://cdn.example.com/a.png', source: 'https://cdn.example.com/a.png', url: true },
    ],
    [
      'data:image/png;base64,AAAA',
      undefined,
      { ok: true, key: 'data:image/png;base64,AAAA', source: 'data:image/png;base64,AAAA', url: false },
    ],
    ['file:///etc/passwd', undefined, { ok: false, reason: 'file: URLs are not images imgdesc reads' }],
    ['', undefined, { ok: false, reason: 'the image has no source' }],
  ];
  for (const [src, root, want] of cases)
    test(`${JSON.stringify(src)}${root ? ` with --site-root ${root}` : ''}`, () => assert.deepEqual(imageSource(src, doc, root), want));
});

test('docKind by extension', () => {
  assert.deepEqual(['a.md', 'a.MARKDOWN', 'a.mdx', 'a.html', 'a.HTM', 'a.txt', 'md'].map(docKind), [
    'markdown',
    'markdown',
    'mdx',
    'html',
    'html',
    undefined,
    undefined,
  ]);
});

/** Writes `alt` at every image that needs it and returns the new text. */
async function fill(text: string, kind: DocKind, alt = 'NEW'): Promise<string> {
  const found = await findImages(text, kind);
  return applyEdits(
    text,
    found.filter((f) => f.state === 'missing' || f.state === 'placeholder').map((f) => editFor(f.site, alt)),
  );
}

describe('where alt text goes: only its bytes change', () => {
  const cases: [string, DocKind, string, string][] = [
    ['inline image', 'markdown', '![](a.png)\n', '![NEW](a.png)\n'],
    ['with a title', 'markdown', '![](a.png "Title")\n', '![NEW](a.png "Title")\n'],
    ['placeholder', 'markdown', 'x ![image](a.png) y\n', 'x ![NEW](a.png) y\n'],
    ['real alt kept', 'markdown', '![A cat on a mat](a.png)\n', '![A cat on a mat](a.png)\n'],
    ['nested brackets kept', 'markdown', '![a [b] c](a.png)\n', '![a [b] c](a.png)\n'],
    ['full reference', 'markdown', '![][logo]\n\n[logo]: a.png\n', '![NEW][logo]\n\n[logo]: a.png\n'],
    ['shortcut reference named like a placeholder', 'markdown', '![image]\n\n[image]: a.png\n', '![NEW][image]\n\n[image]: a.png\n'],
    [
      'collapsed reference named like a placeholder',
      'markdown',
      '![Screenshot][]\n\n[screenshot]: a.png\n',
      '![NEW][Screenshot]\n\n[screenshot]: a.png\n',
    ],
    [
      'reference with a real label kept',
      'markdown',
      '![Company logo]\n\n[company logo]: a.png\n',
      '![Company logo]\n\n[company logo]: a.png\n',
    ],
    ['code fence untouched', 'markdown', '```md\n![](a.png)\n```\n', '```md\n![](a.png)\n```\n'],
    ['indented code untouched', 'markdown', '    ![](a.png)\n', '    ![](a.png)\n'],
    ['inline code untouched', 'markdown', 'use `![](a.png)` here\n', 'use `![](a.png)` here\n'],
    ['escaped bang is not an image', 'markdown', '\\![](a.png)\n', '\\![](a.png)\n'],
    ['front matter kept', 'markdown', '---\nimage: a.png\n---\n![](a.png)\n', '---\nimage: a.png\n---\n![NEW](a.png)\n'],
    ['CRLF kept', 'markdown', '# T\r\n\r\n![](a.png)\r\n', '# T\r\n\r\n![NEW](a.png)\r\n'],
    ['raw img in markdown', 'markdown', 'x <img src="a.png"> y\n', 'x <img src="a.png" alt="NEW"> y\n'],
    ['raw img, self-closing', 'markdown', '<img src="a.png" width="5" />\n', '<img src="a.png" width="5" alt="NEW" />\n'],
    ['raw img alt="" is decorative', 'markdown', '<img src="a.png" alt="">\n', '<img src="a.png" alt="">\n'],
    ['raw img in a blockquote', 'markdown', '> <img src="a.png">\n', '> <img src="a.png" alt="NEW">\n'],
    ['html comment untouched', 'markdown', '<!-- ![](a.png) <img src="b.png"> -->\n', '<!-- ![](a.png) <img src="b.png"> -->\n'],
    ['table cell', 'markdown', '| a |\n|---|\n| ![](a.png) |\n', '| a |\n|---|\n| ![NEW](a.png) |\n'],
    ['html: no alt', 'html', '<p><img src="a.png"></p>', '<p><img src="a.png" alt="NEW"></p>'],
    ['html: unquoted placeholder', 'html', '<img src=a.png alt=image>', '<img src=a.png alt="NEW">'],
    ['html: single-quoted placeholder', 'html', "<img alt='a.png' src='a.png'>", `<img alt="NEW" src='a.png'>`],
    ['html: alt on the next line kept', 'html', '<img src="a.png"\n     alt="A cat">', '<img src="a.png"\n     alt="A cat">'],
    ['html: decorative', 'html', '<img src="a.png" alt="">', '<img src="a.png" alt="">'],
    ['html: aria-labelledby names it', 'html', '<img src="a.png" aria-labelledby="x">', '<img src="a.png" aria-labelledby="x">'],
    ['html: role=presentation', 'html', '<img src="a.png" role="presentation">', '<img src="a.png" role="presentation">'],
    [
      'html: picture',
      'html',
      '<picture><source srcset="a.webp"><img src="a.png"></picture>',
      '<picture><source srcset="a.webp"><img src="a.png" alt="NEW"></picture>',
    ],
    ['html: in a script, not an image', 'html', '<script>x = "<img src=a.png>"</script>', '<script>x = "<img src=a.png>"</script>'],
    ['mdx: markdown image', 'mdx', '# T\n\n![](a.png)\n', '# T\n\n![NEW](a.png)\n'],
    ['mdx: jsx img', 'mdx', '<img src="a.png" width={3} />\n', '<img src="a.png" width={3} alt="NEW" />\n'],
    ['mdx: jsx alt expression left alone', 'mdx', '<img src="a.png" alt={label} />\n', '<img src="a.png" alt={label} />\n'],
  ];
  for (const [name, kind, input, want] of cases) test(name, async () => assert.equal(await fill(input, kind), want));
});

describe('escaped alt text reads back as written', () => {
  const tricky = 'A [chart] of *sales* & "costs" <up> `x` _y_ \\ {z}!';
  for (const [kind, input] of [
    ['markdown', '![](a.png)\n'],
    ['markdown', '![][r]\n\n[r]: a.png\n'],
    ['markdown', 'x <img src="a.png"> y\n'],
    ['mdx', '![](a.png)\n'],
    ['mdx', '<img src="a.png" />\n'],
    ['html', '<img src="a.png">'],
  ] as [DocKind, string][]) {
    test(`${kind}: ${JSON.stringify(input)}`, async () => {
      const out = await fill(input, kind, tricky);
      const [img] = await findImages(out, kind);
      assert.equal(img?.alt, tricky);
    });
  }
});

describe('context: the nearest heading and the paragraph', () => {
  test('markdown: the paragraph around, else the one beside', async () => {
    const text = '# Guide\n\n## Install\n\nRun the installer ![](a.png) and click Next.\n\nThe wizard opens:\n\n![](b.png)\n';
    const [a, b] = await findImages(text, 'markdown');
    assert.deepEqual(a?.context, { heading: 'Install', text: 'Run the installer and click Next.' });
    assert.deepEqual(b?.context, { heading: 'Install', text: 'The wizard opens:' });
  });
  test('html: the block around, a figure caption, the heading before', async () => {
    const text =
      '<h2>Results</h2><p>Sales grew <img src="a.png"> in May.</p><figure><img src="b.png"><figcaption>Figure 2: costs</figcaption></figure>';
    const [a, b] = await findImages(text, 'html');
    assert.deepEqual(a?.context, { heading: 'Results', text: 'Sales grew in May.' });
    assert.deepEqual(b?.context, { heading: 'Results', text: 'Figure 2: costs' });
  });
  test('positions are 1-based line and column', async () => {
    const [a] = await findImages('# T\n\nsome ![](a.png)\n', 'markdown');
    assert.deepEqual([a?.line, a?.column], [3, 6]);
  });
});
