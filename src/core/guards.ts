// Answer guards: is this answer a caption someone can train on? Pure: text in, a verdict out.
//
// Models answer a captioning prompt with more than captions: refusals ("I'm sorry, I can't help
// with that"), nothing at all (a reasoning model that spent its tokens thinking), a caption cut off
// at max_tokens, chatter around it ("Here is a caption for the image:"), and `<think>` blocks.
// Refused, empty and truncated answers are failures; chatter and think blocks are removed.
//
// Phrasings are matched only at the start (refusals, preambles) or the end (sign-offs) of an
// answer and sentence by sentence, so a caption that quotes a sign saying "I'm sorry" stays a caption.
import { isCutOff } from '../api/index.ts';

export type Verdict = 'refused' | 'empty' | 'truncated' | 'chatter';

export interface AnswerFacts {
  /** The answer text as received ('' when the model said nothing). */
  text: string;
  finishReason: string | null;
  /** The message's `refusal` field (OpenAI), when set. */
  refusal?: string | null | undefined;
}

export interface Judgement {
  /** undefined: a clean caption. */
  verdict: Verdict | undefined;
  /** refused, empty and truncated answers are not captions: nothing is written for them. */
  failed: boolean;
  /** The caption with chatter and think blocks removed (the text as received when failed). */
  text: string;
  /** What was removed, in order (think blocks shortened). */
  removed: string[];
  /** One line for the failure record: why this is not a caption. */
  reason: string | undefined;
}

// ---- phrasings ------------------------------------------------------------------------------------
// Each is matched against one whole sentence (trimmed), at the start of the answer.

/** Opening sentences that decline the task. */
export const REFUSAL_SENTENCES: RegExp[] = [
  // "I'm sorry, but I can't assist with that." / "Sorry, I can't help with that." (OpenAI)
  /^(?:i['’]m|i am)\s+(?:really\s+|very\s+|so\s+)?sorry(?:[,.!]|\s+but\b|\s+i\b|\s+to\b|$)/i,
  /^sorry\b[,.!]?\s*(?:but\s+)?i\b/i,
  // "I apologize, but I cannot describe this image." (Claude)
  /^i\s+apologi[sz]e\b/i,
  /^unfortunately,?\s+i\b/i,
  // "I can't help with images of people yet." (Gemini) / "I'm unable to identify people ..."
  /^i\s+(?:can['’]?t|cannot|can not|won['’]t|will not|am unable to|['’]m unable to|am not able to|['’]m not able to|must decline|have to decline)\b/i,
  /^(?:i['’]m|i am)\s+(?:unable|not able)\s+to\b/i,
  /^i\s+(?:don['’]t|do not)\s+feel\s+comfortable\b/i,
  /^(?:i['’]m|i am)\s+(?:not\s+comfortable|just\s+a\s+language\s+model|only\s+a\s+language\s+model)\b/i,
  /^as\s+an\s+ai\b/i,
  // The relay dropped the image: "I don't see any image attached to your message."
  /^i\s+(?:don['’]t|do not|can['’]t|cannot)\s+see\s+(?:an?|any|the)\s+(?:image|picture|photo)/i,
  /^(?:it\s+(?:seems|looks|appears)\s+(?:like\s+)?)?(?:the|no|your)\s+(?:image|picture|photo)\s+(?:was(?:n['’]t| not)?\s+(?:attached|provided|uploaded|included)|didn['’]t come through|did not come through)/i,
  /^i\s+(?:can['’]t|cannot|am unable to|['’]m unable to)\s+(?:view|see|open|access)\s+(?:images|pictures|the image|this image)/i,
  // 抱歉，我无法识别图片中的人物。/ 对不起，我不能提供这方面的帮助。(Qwen, GLM, ERNIE, DeepSeek)
  /^(?:很|非常|十分|实在)?(?:抱歉|对不起|不好意思)[，,。.！!\s]*.*?(?:无法|不能|没法|没办法|不便|不可以|不会|无能为力)/,
  /^(?:很|非常)?遗憾[，,]?\s*我/,
  /^我(?:无法|不能|没法|没办法|不便|不可以)(?:帮助|协助|提供|识别|描述|查看|看到|处理|回答|满足|完成|分析|生成|为你|为您|对)/,
  /^作为(?:一个|一名)?(?:AI|ai|人工智能|语言模型|AI语言模型|AI助手|人工智能助手)/,
  /^我(?:看不到|没有看到|没看到|未看到|无法看到)(?:任何)?(?:图片|图像|照片)/,
];

/** Opening sentences that introduce the caption instead of being it. */
export const PREAMBLE_SENTENCES: RegExp[] = [
  // "Sure!" "Certainly." "Of course!" "Okay," as a sentence of its own
  /^(?:sure(?: thing)?|certainly|of course|okay|ok|absolutely|alright|all right|great|no problem)[!.,]*$/i,
  // "Here is a caption for the image:" "Sure! Here's a detailed description:" "Below is ...:"
  /^(?:(?:sure|certainly|of course|okay|ok|absolutely|alright)[!.,]*\s*)?(?:here(?:['’]s| is| are)|below is|the following is)\b.{0,100}[:：]$/i,
  // "I'd be happy to describe this image." / "Let me describe the image."
  /^i['’]?d\s+be\s+(?:happy|glad)\s+to\b.{0,80}[.!:：]$/i,
  /^let\s+me\s+(?:describe|caption|take a look|look)\b.{0,80}[.!:：]$/i,
  // after a refusal of one part: "However, I can describe the scene:"
  /^(?:however|but),?\s+i\s+can\b.{0,80}[.!:：]$/i,
  // 好的！/ 当然可以。
  /^(?:好的|好|当然|当然可以|没问题|可以)[！!，,。.]*$/,
  // 以下是这张图片的描述：/ 好的，这是图片的描述：
  /^(?:(?:好的|当然|当然可以|没问题)[！!，,。.]*)?(?:以下是|下面是|这是)[^。\n]{0,40}[：:]$/,
];

/** A label in front of the caption: "Caption:", "**Description:**", "图片描述：". */
const LABEL =
  /^\s*([*_]{0,2})(?:caption|description|image description|alt[- ]?text|标题|描述|图片描述|图像描述)\s*(?:[:：]\1|\1\s*[:：])\s*/i;

/** Closing sentences that talk to the user. */
export const SIGNOFF_SENTENCES: RegExp[] = [
  /^(?:let me know|feel free|please let me know)\b/i,
  /^(?:i\s+)?hope\s+(?:this|that|it)\s+helps\b/i,
  /^(?:if you (?:need|want|would like|['’]d like)|would you like|is there anything)\b/i,
  /^(?:希望(?:这|以上|对你|对您)|如果(?:您|你)(?:还)?(?:需要|有|想)|如需|请告诉我|还有什么)/,
];

const THINK_BLOCK = /<(think|thinking|reasoning)>[\s\S]*?(?:<\/\1>|$)/gi;

const shorten = (s: string, max = 200) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** `finish_reason` values that mean the answer was cut off: one definition, in the API layer. */
export { isCutOff };

/**
 * Removes `<think>…</think>` (also `<thinking>`, `<reasoning>`; an unclosed one runs to the end),
 * and a leading text that ends in a lone `</think>` (templates that open the block in the prompt).
 */
export function stripThink(text: string): { text: string; removed: string[] } {
  const removed: string[] = [];
  let out = text.replace(THINK_BLOCK, (m) => {
    removed.push(shorten(m));
    return '';
  });
  const close = out.match(/^[\s\S]*?<\/(?:think|thinking|reasoning)>/i);
  if (close) {
    removed.push(shorten(close[0]));
    out = out.slice(close[0].length);
  }
  return { text: out.trim(), removed };
}

/** The end of the first sentence: after . ! ? … (then space or end), a CJK stop, a colon, or a line break. */
const SENTENCE_END = /[.!?…]+["'”’)]*(?=\s|$)|[。！？]+["'”’）)]*|[:：](?=\s|$|["“'‘*])|[：]|\n/;

function firstSentence(text: string): { sentence: string; rest: string } {
  const m = SENTENCE_END.exec(text);
  if (!m) return { sentence: text.trim(), rest: '' };
  const end = m.index + m[0].length;
  return { sentence: text.slice(0, end).trim(), rest: text.slice(end).trimStart() };
}

/** The last sentence, when the text has more than one. */
function lastSentence(text: string): { head: string; sentence: string } | undefined {
  const t = text.trimEnd();
  // Walk the sentence ends; the last one that is not the very end of the text splits it.
  let split = -1;
  const re = new RegExp(SENTENCE_END.source, 'g');
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const end = m.index + m[0].length;
    if (end < t.length) split = end;
  }
  if (split < 0) return undefined;
  return { head: t.slice(0, split).trimEnd(), sentence: t.slice(split).trim() };
}

const matchesAny = (res: RegExp[], s: string) => res.some((re) => re.test(s));
const hasWords = (s: string) => /[\p{L}\p{N}]/u.test(s);

/** A caption wrapped whole in quotes by a preamble ("Here's a caption: "A dog on a beach.""). */
function unquote(s: string): string {
  const m = s.match(/^(["“'‘「『])([\s\S]*)(["”'’」』])$/);
  if (!m) return s;
  const pairs: Record<string, string> = { '"': '"', '“': '”', "'": "'", '‘': '’', '「': '」', '『': '』' };
  const inner = m[2] ?? '';
  return pairs[m[1] ?? ''] === m[3] && !/["“”]/.test(inner) ? inner.trim() : s;
}

/**
 * The verdict on one answer. With `strip: false` (structured answers, where the text is JSON) only
 * refusals, empty and cut-off answers are judged and nothing is removed.
 */
export function judgeAnswer(facts: AnswerFacts, opts: { strip?: boolean } = {}): Judgement {
  const strip = opts.strip ?? true;
  const original = facts.text;
  const fail = (verdict: Verdict, reason: string): Judgement => ({ verdict, failed: true, text: original, removed: [], reason });

  if (facts.refusal) return fail('refused', `the model refused: ${shorten(facts.refusal)}`);
  if (facts.finishReason?.toLowerCase() === 'content_filter')
    return fail('refused', 'the answer was withheld by a content filter (finish_reason: content_filter)');

  const think = stripThink(original);
  let text = think.text;
  const removed = [...think.removed];
  if (!hasWords(text)) {
    const why = think.removed.length ? 'the answer has only a <think> block' : 'the answer is empty';
    return fail('empty', isCutOff(facts.finishReason) ? `${why} (the token limit was reached: raise --max-tokens)` : why);
  }

  // Leading sentences: refusals, preambles, labels.
  let refusal: string | undefined;
  if (!/^\s*[{[]/.test(text)) {
    for (;;) {
      const label = LABEL.exec(text);
      if (label && strip) {
        removed.push(label[0].trim());
        text = text.slice(label[0].length);
        continue;
      }
      const { sentence, rest } = firstSentence(text);
      if (matchesAny(REFUSAL_SENTENCES, sentence)) refusal ??= sentence;
      else if (!matchesAny(PREAMBLE_SENTENCES, sentence)) break;
      removed.push(sentence);
      text = rest;
      if (!text) break;
    }
  }
  // A refusal with no real caption after it (a disclaimer before a full description is chatter).
  if (refusal !== undefined && [...text.matchAll(/[\p{L}\p{N}]/gu)].length < 40) {
    return fail('refused', `the model refused: ${shorten(original)}`);
  }
  if (isCutOff(facts.finishReason))
    return fail('truncated', `the answer was cut off at the token limit (finish_reason: ${facts.finishReason}): raise --max-tokens`);
  if (!strip) return { verdict: undefined, failed: false, text: original, removed: [], reason: undefined };
  if (!hasWords(text)) return fail('empty', 'the answer has no caption, only chatter');

  // Trailing sign-offs.
  for (let last = lastSentence(text); last && matchesAny(SIGNOFF_SENTENCES, last.sentence); last = lastSentence(text)) {
    removed.push(last.sentence);
    text = last.head;
  }
  text = text.trim();
  if (removed.length > think.removed.length) text = unquote(text);
  if (removed.length === 0) return { verdict: undefined, failed: false, text, removed, reason: undefined };
  return { verdict: 'chatter', failed: false, text, removed, reason: undefined };
}
