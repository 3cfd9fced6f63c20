// Reading what the relay sent back. Pure: no undici, no process.
import { APIError, InvalidResponseError, oneLine, redact, statusLabel } from './errors.ts';
import { MAX_JSON_DEPTH, nestsDeeper } from '../json-depth.ts';

export interface Answer {
  /** The first choice's text (parts joined). */
  content: string;
  /** Every choice's text, in index order (`-n`). A choice without text gives ''. */
  contents: string[];
  /** An open string: stop, length, content_filter, end_turn, max_tokens, tool_calls ... */
  finishReason: string | null;
  reasoning: string | null;
  refusal: string | null;
  model: string | null;
  usage: unknown;
  id: string | null;
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `content` as a string, an array of parts (`{type:'text',text}`; other part kinds ignored), or null. */
function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const texts = content.flatMap((p) => {
      if (typeof p === 'string') return [p];
      if (isObj(p) && typeof p['text'] === 'string' && (p['type'] === undefined || p['type'] === 'text' || p['type'] === 'output_text')) {
        return [p['text']];
      }
      return [];
    });
    return texts.length ? texts.join('') : null;
  }
  return null;
}

/**
 * The answer stopped at the token limit: `length` (OpenAI, one-api, newer new-api), `max_tokens`
 * (older new-api's Claude adaptor passed Anthropic's stop_reason through, relay/channel/claude/relay-claude.go),
 * `model_length` (Gemini).
 */
export function isCutOff(finishReason: string | null): boolean {
  return finishReason !== null && ['length', 'max_tokens', 'model_length'].includes(finishReason.toLowerCase());
}

/** The provider blocked the answer: OpenAI `content_filter`, Gemini `SAFETY` / `PROHIBITED_CONTENT` / `RECITATION` / `BLOCKLIST`. */
export function isBlocked(finishReason: string | null): boolean {
  return finishReason !== null && /^(content_filter|safety|prohibited_content|recitation|blocklist|spii|image_safety)$/i.test(finishReason);
}

/** Turns a parsed chat-completion body into the answer, or explains why there is none. */
export function readAnswer(body: unknown): Answer {
  if (!isObj(body)) throw new InvalidResponseError('the response is not a JSON object');
  const id = str(body['id']);
  const raw = body['choices'];
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidResponseError(Array.isArray(raw) ? 'the response has no choices (empty "choices")' : 'the response has no "choices"', {
      requestId: id,
    });
  }
  const choices = raw
    .map((c, i) => ({ c: isObj(c) ? c : {}, index: isObj(c) && typeof c['index'] === 'number' ? c['index'] : i }))
    .sort((a, b) => a.index - b.index)
    .map((x) => x.c);
  const first = choices[0] ?? {};
  const message = isObj(first['message']) ? first['message'] : {};
  const finishReason = str(first['finish_reason']);
  const refusal = str(message['refusal']);
  const reasoning = str(message['reasoning_content']) ?? str(message['reasoning']);
  const content = textOf(message['content']);

  if (content === null || content === '') {
    const why = refusal
      ? `the model refused: ${oneLine(refusal)}`
      : isBlocked(finishReason)
        ? `the answer was blocked by the provider's safety filter (finish_reason: ${finishReason})`
        : `the answer is empty${finishReason ? ` (finish_reason: ${finishReason})` : ''}`;
    const hint = isBlocked(finishReason)
      ? 'not retried: asking again gets the same; try another prompt, image or model'
      : isCutOff(finishReason)
        ? 'the token limit was reached before any answer (reasoning models think first): raise --max-tokens'
        : undefined;
    throw new InvalidResponseError(why, { requestId: id, hint, answer: refusal ? 'refused' : 'empty' });
  }

  return {
    content,
    contents: choices.map((c) => (isObj(c['message']) ? (textOf(c['message']['content']) ?? '') : '')),
    finishReason,
    reasoning,
    refusal,
    model: str(body['model']),
    usage: body['usage'] ?? null,
    id,
  };
}

/**
 * Several chat completions as one (`-n` asked in several requests): the first body with every
 * body's choices in order, re-indexed and cut to `answers`, and the usage figures summed.
 */
export function mergeCompletions(bodies: unknown[], answers: number): unknown {
  const objs = bodies.filter(isObj);
  const head = objs[0] ?? {};
  const choices = objs.flatMap((b) => (Array.isArray(b['choices']) ? b['choices'] : [])).slice(0, answers);
  const usage: Obj = {};
  for (const b of objs) {
    const u = b['usage'];
    if (!isObj(u)) continue;
    for (const [k, v] of Object.entries(u)) if (typeof v === 'number') usage[k] = ((usage[k] as number | undefined) ?? 0) + v;
  }
  return {
    ...head,
    choices: choices.map((c, index) => (isObj(c) ? { ...c, index } : c)),
    ...(Object.keys(usage).length ? { usage } : {}),
  };
}

/** The model ids of a `GET /v1/models` answer (`{"data":[{"id"}...]}`), sorted. */
export function readModelIds(body: unknown): string[] {
  const data = isObj(body) ? body['data'] : Array.isArray(body) ? body : undefined;
  if (!Array.isArray(data)) throw new InvalidResponseError('the model list has no "data" array');
  return data
    .map((m) => (isObj(m) ? str(m['id']) : str(m)))
    .filter((x): x is string => x !== null)
    .sort();
}

// Anthropic's error types and the statuses it sends them with.
const ANTHROPIC_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

const asStatus = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : NaN;
  return n >= 400 && n <= 599 ? n : undefined;
};

interface ErrorFields {
  message: string;
  code: string | null;
  type: string | null;
  status: number | undefined;
}

/**
 * Finds an error in a parsed body: OpenAI / one-api `{"error":{message,type,code}}`, `{"error":"text"}`,
 * Anthropic `{"type":"error","error":{type,message}}`, Gemini `[{"error":{code,message,status}}]`.
 * `loose` also accepts `{"message"}` / `{"detail"}` shapes, for bodies of non-2xx answers.
 */
function findError(body: unknown, loose: boolean): ErrorFields | null {
  if (Array.isArray(body) && body.length > 0 && isObj(body[0]) && body[0]['error'] !== undefined) body = body[0];
  if (!isObj(body)) return null;
  const err = body['error'];
  if (isObj(err)) {
    const type = str(err['type']) ?? str(err['status']);
    const code = err['code'] == null || err['code'] === '' ? null : String(err['code']);
    const message = str(err['message']) ?? str(err['msg']) ?? str(err['detail']) ?? oneLine(JSON.stringify(err), 200);
    const status =
      asStatus(err['status']) ??
      asStatus(err['http_status']) ??
      asStatus(err['status_code']) ??
      (body['type'] === 'error' && type ? ANTHROPIC_STATUS[type] : undefined) ??
      asStatus(err['code']);
    return { message, code, type, status };
  }
  if (typeof err === 'string' && err !== '') {
    return { message: err, code: str(body['code']), type: str(body['type']), status: asStatus(body['status']) ?? asStatus(body['code']) };
  }
  if (!loose) {
    // one-api style `{"success":false,"message":...}` with HTTP 200 and no choices
    if (body['success'] === false && typeof body['message'] === 'string' && !('choices' in body)) {
      return { message: body['message'], code: null, type: null, status: asStatus(body['code']) };
    }
    return null;
  }
  const detail = body['detail'];
  const message =
    str(body['message']) ??
    str(body['msg']) ??
    str(detail) ??
    (Array.isArray(detail) || isObj(detail) ? oneLine(JSON.stringify(detail), 200) : null);
  if (message === null) return null;
  const code = body['code'] == null ? null : String(body['code']);
  return { message, code, type: str(body['type']), status: undefined };
}

/** A short description of a body that is not JSON: an HTML page's title, or its first characters. */
export function describeNonJson(contentType: string | undefined, text: string): string {
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t === '') return 'an empty body';
  if (/html/i.test(contentType ?? '') || /^<(!doctype|html|head|body|\?xml)/i.test(t)) {
    const pick = (re: RegExp) =>
      re
        .exec(t)?.[1]
        ?.replace(/<[^>]*>/g, '')
        .trim();
    const title = pick(/<title[^>]*>([\s\S]*?)<\/title>/i) || pick(/<h1[^>]*>([\s\S]*?)<\/h1>/i);
    return title ? oneLine(decodeEntities(title), 160) : 'an HTML page';
  }
  return oneLine(t, 120);
}

function decodeEntities(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

export interface ParseContext {
  headers?: Record<string, string> | undefined;
  /** Redacted from every message (servers sometimes echo the Authorization header). */
  token?: string | undefined;
  /** The requested URL, for the 404 hint. */
  url?: string | undefined;
}

/**
 * An error for a non-2xx answer. Always an APIError, whatever the body (JSON error, HTML page,
 * nothing), so the status decides retries and the exit code (an HTML 401 from a WAF is still exit 3).
 */
export function errorFromResponse(
  status: number,
  contentType: string | undefined,
  text: string,
  requestId?: string | null,
  ctx: ParseContext = {},
): APIError {
  const base = { headers: ctx.headers, requestId: requestId ?? undefined, token: ctx.token, url: ctx.url, raw: text };
  let parsed: unknown;
  let isJson = false;
  try {
    // Too deep to walk safely: described as text, like a body that is not JSON.
    if (!nestsDeeper(text)) {
      parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
      isJson = true;
    }
  } catch {
    // described below
  }
  const found = isJson ? findError(parsed, true) : null;
  if (found) {
    return new APIError({ ...base, status, message: found.message, code: found.code, type: found.type });
  }
  // Redact before shortening: a cut through the token would leave a piece of it behind.
  const safe = redact(text, ctx.token);
  const detail = isJson ? oneLine(safe, 120) : describeNonJson(contentType, safe);
  const label = statusLabel(status);
  // "HTTP 502 Bad Gateway: 502 Bad Gateway" says it twice; nginx titles are exactly that.
  const redundant = detail.replace(/^\d{3}\s*/, '').toLowerCase() === label.replace(/^HTTP \d+ ?/, '').toLowerCase();
  return new APIError({
    ...base,
    status,
    message: `${label.replace(/^HTTP \d+ ?/, '') || 'error'}${redundant ? '' : `: ${detail}`}`,
  });
}

/**
 * Parses a response body. For 2xx: JSON or InvalidResponseError ("HTTP 200: expected JSON, got
 * <title>"); a 2xx that carries an error (`{"error":...}`, Anthropic's `{"type":"error"}`) is an
 * APIError with the embedded status when there is one. For anything else: the APIError of
 * errorFromResponse().
 */
export function parseJsonBody(
  status: number,
  contentType: string | undefined,
  text: string,
  requestId?: string,
  ctx: ParseContext = {},
): unknown {
  if (status < 200 || status > 299) throw errorFromResponse(status, contentType, text, requestId, ctx);
  // JSON.parse takes any depth, but stringifying or walking the result would overflow the stack.
  if (nestsDeeper(text))
    throw new InvalidResponseError(`HTTP ${status}: the answer nests deeper than ${MAX_JSON_DEPTH} levels`, {
      status,
      requestId: requestId ?? null,
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    // Redact before shortening: a cut through the token would leave a piece of it behind.
    const t = redact(text, ctx.token).trim();
    const looksJson = t.startsWith('{') || t.startsWith('[');
    // V8 quotes the unredacted text around the error (`Unexpected token 'B', "…" is not valid JSON`); the excerpt says it instead.
    const reason =
      e instanceof Error ? e.message.replace(/ in JSON at position.*$/, '').replace(/, .* is not valid JSON$/s, '') : 'parse error';
    // A web page where the API should be: the base URL points at the relay's dashboard.
    const html = !looksJson && (/html/i.test(contentType ?? '') || /^<(!doctype|html)/i.test(t));
    const page = describeNonJson(contentType, t);
    const why = looksJson
      ? `invalid JSON (${reason}): ${oneLine(t.slice(0, 80), 80)}${t.length > 80 ? '…' : ''}`
      : html
        ? `${page === 'an HTML page' ? 'a web page' : `a web page titled "${page}"`} answered, not the API`
        : `expected JSON, got ${page}`;
    const hint = html
      ? `the base URL may be the relay's dashboard: use its API address, often ending in /v1${ctx.url ? `; the request went to ${ctx.url}` : ''}`
      : undefined;
    throw new InvalidResponseError(`HTTP ${status}: ${why}`, {
      status,
      requestId: requestId ?? null,
      cause: e,
      hint,
      webPage: html ? (page === 'an HTML page' ? 'a web page' : `a web page titled "${page}"`) : undefined,
    });
  }
  const found = findError(parsed, false);
  if (found) {
    throw new APIError({
      status: found.status ?? status,
      message: found.message,
      code: found.code,
      type: found.type,
      headers: ctx.headers,
      requestId: requestId ?? undefined,
      token: ctx.token,
      url: ctx.url,
      raw: text,
    });
  }
  return parsed;
}
