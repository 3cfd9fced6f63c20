// Server-sent events as relays send them, assembled into one chat.completion. Pure.
//
// Used for --stream, and for a non-stream request answered with a stream anyway (new-api follows the
// upstream's Content-Type). Chunk shape: one-api relay/adaptor/openai/main.go StreamHandler and
// new-api dto.ChatCompletionsStreamResponse: `data: {"id","object":"chat.completion.chunk","model",
// "choices":[{"index","delta":{"role"?,"content"?,"reasoning_content"?},"finish_reason"}],"usage"?}`,
// ending with `data: [DONE]`.

import { isObj, type Obj } from './response.ts';
import { nestsDeeper } from '../json-depth.ts';

/** A body that is an event stream: by its Content-Type, or by how it starts. */
export function isEventStream(contentType: string | undefined, text: string): boolean {
  if (/text\/event-stream/i.test(contentType ?? '')) return true;
  return /^\uFEFF?\s*(data|event|id|retry):/.test(text) || /^\uFEFF?\s*:/.test(text);
}

interface ChoiceParts {
  content: string;
  reasoning: string;
  refusal: string;
  role: string;
  finish: string | null;
  sawContent: boolean;
}

/**
 * The chunks of a stream as one `chat.completion` object. A chunk that carries an `error` (relays
 * report failures mid-stream this way) is returned as it is, so the caller reads it as an error body.
 * A stream with no chunk at all gives `{}`.
 */
export function assembleStream(text: string): Obj {
  const choices = new Map<number, ChoiceParts>();
  let head: Obj = {};
  let usage: unknown;
  for (const event of text.replace(/^\uFEFF/, '').split(/\r?\n\r?\n|\r\r/)) {
    const data = event
      .split(/\r?\n|\r/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '' || data.trim() === '[DONE]') continue;
    let chunk: unknown;
    try {
      if (nestsDeeper(data)) continue; // nothing a chat chunk holds nests this deep
      chunk = JSON.parse(data);
    } catch {
      continue; // a keep-alive or a relay's comment line
    }
    if (!isObj(chunk)) continue;
    if (chunk['error'] !== undefined) return chunk;
    if (Object.keys(head).length === 0) head = chunk;
    if (chunk['usage'] != null) usage = chunk['usage'];
    const list = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
    for (const [i, c] of list.entries()) {
      if (!isObj(c)) continue;
      const index = typeof c['index'] === 'number' ? c['index'] : i;
      const parts = choices.get(index) ?? { content: '', reasoning: '', refusal: '', role: 'assistant', finish: null, sawContent: false };
      // Some relays send whole messages in chunks (`message` instead of `delta`).
      const delta = isObj(c['delta']) ? c['delta'] : isObj(c['message']) ? c['message'] : {};
      if (typeof delta['role'] === 'string') parts.role = delta['role'];
      if (typeof delta['content'] === 'string') {
        parts.content += delta['content'];
        parts.sawContent = true;
      }
      const reasoning = delta['reasoning_content'] ?? delta['reasoning'];
      if (typeof reasoning === 'string') parts.reasoning += reasoning;
      if (typeof delta['refusal'] === 'string') parts.refusal += delta['refusal'];
      if (typeof c['finish_reason'] === 'string' && c['finish_reason'] !== '') parts.finish = c['finish_reason'];
      choices.set(index, parts);
    }
  }
  if (Object.keys(head).length === 0) return {};
  const out: Obj = {
    id: head['id'] ?? null,
    object: 'chat.completion',
    created: head['created'] ?? null,
    model: head['model'] ?? null,
    choices: [...choices.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, p]) => {
        const message: Obj = { role: p.role, content: p.sawContent ? p.content : null };
        if (p.reasoning) message['reasoning_content'] = p.reasoning;
        if (p.refusal) message['refusal'] = p.refusal;
        return { index, message, finish_reason: p.finish };
      }),
  };
  if (usage !== undefined) out['usage'] = usage;
  return out;
}
