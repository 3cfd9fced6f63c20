// Typed API failures, after openai-node's src/core/error.ts. Pure: no undici, no process.
import { statusLabel } from '../net/words.ts';
import { CliError, ExitCode } from '../types.ts';

/** Response headers that carry a request id, most specific first (OpenAI, Anthropic, one-api/new-api, clouds, Cloudflare). */
export const REQUEST_ID_HEADERS = [
  'x-request-id',
  'request-id',
  'x-oneapi-request-id',
  'x-new-api-request-id',
  'x-amzn-requestid',
  'x-amz-request-id',
  'apim-request-id',
  'x-ms-request-id',
  'x-trace-id',
  'cf-ray',
] as const;

export function findRequestId(headers: Record<string, string> | undefined): string | null {
  if (!headers) return null;
  for (const name of REQUEST_ID_HEADERS) {
    const v = headers[name];
    if (v) return v;
  }
  return null;
}

const MAX_MESSAGE = 300;

/** Collapses whitespace so the message stays one line, and shortens it. */
export function oneLine(text: string, max = MAX_MESSAGE): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Removes a secret from text that came from elsewhere (a server that echoes the Authorization header
 * back in its error message). Very short "secrets" are left alone: replacing every `a` helps nobody.
 */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('***');
}

export { statusLabel } from '../net/words.ts';

export interface APIErrorInit {
  status: number | undefined;
  /** The server's own message (already one line is not required). */
  message: string;
  code?: string | null | undefined;
  type?: string | null | undefined;
  headers?: Record<string, string> | undefined;
  requestId?: string | null | undefined;
  /** The URL that was requested, for hints (404 → check the base URL). */
  url?: string | undefined;
  /** The response text, kept (shortened, redacted) for --verbose. */
  raw?: string | undefined;
  /** Redacted from everything kept here. */
  token?: string | undefined;
  hint?: string | undefined;
  cause?: unknown;
}

// 403s by cause (one-api middleware/auth.go, relay/controller/helper.go; new-api middleware/auth.go,
// service/quota.go): the same status means "bad token", "no quota" or "not this model".
const QUOTA = /quota|额度|余额|insufficient|billing|balance|credit/i;
const MODEL_DENIED =
  /无权(?:使用|访问)模型|model.*not (?:allowed|permitted)|(?:not allowed|may not) (?:to )?use|access to (?:the )?model|model_not_allowed/i;

/** The relay says the account or token is out of quota (any status: OpenAI sends it as a 429). */
export function isQuotaError(code: string | null | undefined, message: string): boolean {
  return QUOTA.test(`${code ?? ''} ${message}`);
}

/** The relay says this token may not use the model. */
export function isModelDenied(code: string | null | undefined, message: string): boolean {
  return MODEL_DENIED.test(`${code ?? ''} ${message}`);
}

/** The hint for a 401/403, by what the relay says caused it. */
export function authHint(status: number, code: string | null, message: string): string {
  if (isQuotaError(code, message))
    return "the account or token is out of quota: top it up, or raise the token's limit, in the relay's dashboard";
  if (isModelDenied(code, message))
    return "this token may not use that model: pick one it allows (imgdesc models), or allow the model in the token's settings on the relay";
  if (status === 403)
    return "the relay refused this token: check in the relay's dashboard that it is enabled and allowed from this network; or set another: imgdesc config set token";
  return 'the token is invalid or expired: imgdesc config set token';
}

function hintFor(status: number | undefined, url: string | undefined, code: string | null, message: string): string | undefined {
  if (status === 401 || status === 403) return authHint(status, code, message);
  if (status === 404 || status === 405) {
    return url ? `check the base URL and the model; the request went to ${url}` : 'check the base URL and the model';
  }
  if (status === 413) return 'the request is too large: lower --max-bytes or --max-edge';
  if (status === 429) return 'rate limited or out of quota: wait, or lower --concurrency';
  if (/no candidates/i.test(message))
    return 'the provider gave no answer (often a safety block of the prompt or image): not retried; try another prompt, image or model';
  if (status === 504 || status === 524) return 'not retried: the upstream may already have billed it; --stream keeps long answers alive';
  return undefined;
}

const NO_CHANNEL = /无可用渠道|no available channel/i;

/** one-api/new-api 503 "无可用渠道": the relay knows no working channel for the model in this token's group. */
export function isNoChannel(message: string): boolean {
  return NO_CHANNEL.test(message);
}

/**
 * The relay has no such model: OpenAI 404 `model_not_found` ("does not exist"), Anthropic 404
 * `not_found_error`, one-api/new-api 503 "当前分组 … 下对于模型 … 无可用渠道" (middleware/distributor.go).
 */
export function isModelNotFound(e: {
  status: number | undefined;
  code: string | null;
  type: string | null;
  serverMessage: string;
}): boolean {
  const m = e.serverMessage;
  // new-api sends a saturated group with the code model_not_found: the message is the cause.
  if (/负载已饱和|saturated|overload/i.test(m)) return false;
  if (e.code === 'model_not_found') return true;
  if (isNoChannel(m)) return true;
  if (e.status === 404 && (e.type === 'not_found_error' || /\bmodel\b/i.test(m))) return true;
  return (e.status === 400 || e.status === 404) && /model.*(does not exist|not found|not exist|unknown)|(unknown|invalid) model/i.test(m);
}

/** The server answered, with an error: a non-2xx status, a 2xx with `{"error":...}`, or a redirect we refused. */
export class APIError extends CliError {
  readonly status: number | undefined;
  readonly code: string | null;
  readonly type: string | null;
  readonly requestId: string | null;
  readonly headers: Record<string, string>;
  /** The server's message alone (one line, redacted), without status or request id. */
  readonly serverMessage: string;
  readonly raw: string | null;

  constructor(init: APIErrorInit) {
    const token = init.token;
    const headers = init.headers ?? {};
    const requestId = init.requestId ?? findRequestId(headers);
    const serverMessage = oneLine(redact(init.message, token));
    const code = init.code == null ? null : redact(String(init.code), token);
    const type = init.type == null ? null : redact(String(init.type), token);
    const status = init.status;
    super(APIError.format(status, serverMessage, code, requestId), status === 401 || status === 403 ? ExitCode.config : ExitCode.api, {
      hint: init.hint ?? hintFor(status, init.url, code, serverMessage),
      cause: init.cause,
    });
    this.name = 'APIError';
    this.status = status;
    this.code = code;
    this.type = type;
    this.requestId = requestId;
    this.headers = headers;
    this.serverMessage = serverMessage;
    this.raw = init.raw === undefined ? null : redact(init.raw, token).slice(0, 4096);
  }

  /** `HTTP 401: 无效的令牌 (code: invalid_token, request id req_123)` — one line. */
  static format(status: number | undefined, message: string, code: string | null, requestId: string | null): string {
    const head =
      status === undefined ? 'API error' : status >= 200 && status < 300 ? `HTTP ${status} with an error body` : `HTTP ${status}`;
    const extras: string[] = [];
    if (code && !message.includes(code)) extras.push(`code: ${code}`);
    // one-api and new-api put their own request id in the message: a second one says nothing new
    if (requestId && !message.includes(requestId) && !/request id/i.test(message)) extras.push(`request id ${requestId}`);
    const text = message || (status !== undefined ? statusLabel(status).replace(/^HTTP \d+ ?/, '') : '') || 'no message';
    return `${head}: ${text}${extras.length ? ` (${extras.join(', ')})` : ''}`;
  }
}

/** No usable answer reached us: refused, reset, DNS, TLS. */
export class APIConnectionError extends CliError {
  /** The system error code (ECONNREFUSED, UND_ERR_SOCKET ...), when there is one. */
  readonly code: string | null;
  constructor(message: string, options?: { code?: string | null | undefined; cause?: unknown; hint?: string | undefined }) {
    super(message, ExitCode.api, { cause: options?.cause, hint: options?.hint });
    this.name = 'APIConnectionError';
    this.code = options?.code ?? null;
  }
}

/** Every attempt ran out of time. */
export class APITimeoutError extends APIConnectionError {
  constructor(message: string, options?: { cause?: unknown; hint?: string | undefined }) {
    super(message, {
      code: 'ETIMEDOUT',
      cause: options?.cause,
      hint: options?.hint ?? 'raise --timeout, or try a smaller image or a faster model',
    });
    this.name = 'APITimeoutError';
  }
}

/** The server said 2xx but the body is not an answer we can use (HTML, truncated JSON, no choices, no content). */
export class InvalidResponseError extends CliError {
  readonly status: number | undefined;
  readonly requestId: string | null;
  /** A well-formed answer without text: the model refused (the `refusal` field) or said nothing. */
  readonly answer: 'refused' | 'empty' | undefined;
  /** The body was a web page: `a web page titled "One API"` (the base URL points at a dashboard). */
  readonly webPage: string | undefined;
  constructor(
    message: string,
    options?: {
      status?: number | undefined;
      requestId?: string | null | undefined;
      hint?: string | undefined;
      cause?: unknown;
      answer?: 'refused' | 'empty' | undefined;
      webPage?: string | undefined;
    },
  ) {
    super(message, ExitCode.api, { hint: options?.hint, cause: options?.cause });
    this.name = 'InvalidResponseError';
    this.status = options?.status;
    this.requestId = options?.requestId ?? null;
    this.answer = options?.answer;
    this.webPage = options?.webPage;
  }
}
