// The describe flow: settings and inputs in, a request plan and then a result out.
// No terminal knowledge: callers show progress through the callbacks.
import {
  APIError,
  InvalidResponseError,
  buildChatBody,
  createChatCompletion,
  isInsecureRemote,
  readAnswer,
  resolveEndpoints,
  type Answer,
  type ApiResult,
  type ClientOptions,
  type RateGate,
  type RetryEvent,
  adaptRequest,
  mergeCompletions,
  type FamilyPlan,
} from '../api/index.ts';
import { maskToken, type Settings } from '../config/settings.ts';
import { loadImage, type ImageOptions, type PreparedImage } from '../image/index.ts';
import { CliError, ConfigError, ExitCode, UsageError } from '../types.ts';
import { cleanAnswer, jsonSafe } from '../safe-text.ts';
import { VERSION } from '../version.ts';
import { mentionsResponseFormat, parseStructuredAnswer, structuredRequest, type StructuredSpec } from './structured.ts';

export interface CoreContext {
  stdin: NodeJS.ReadableStream;
  cwd: string;
  signal: AbortSignal;
  onRetry?: (e: RetryEvent) => void;
  /** Shared by batch: one keep-alive pool and one rate-limit gate for all workers. */
  dispatcher?: ClientOptions['dispatcher'];
  gate?: RateGate;
  /** PATH, where the system's image tools (libheif) are looked up. */
  searchPath?: string | undefined;
  /** The run's one exiftool process, started on first use (RAW previews, metadata). */
  exiftool?: () => Promise<import('exiftool-vendored').ExifTool>;
  /** Something the user should know that is not a failure (shown as a warning). */
  onNote?: (message: string) => void;
  /** $XDG_CACHE_HOME/imgdesc: the picked model is cached there. None: no cache. */
  cacheDir?: string | undefined;
  /** --dry-run: nothing is sent, to the relay or to an image host (URLs are not fetched). */
  dryRun?: boolean | undefined;
  /** The answer cache and the history (answers.ts): absent, answers are neither cached nor logged. */
  memory?: import('./answers.ts').AnswerMemory | undefined;
}

export interface DescribePlan {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  images: PreparedImage[];
  structured: StructuredSpec | undefined;
  /** What the model's family made of the generic request. */
  family: FamilyPlan;
}

export interface DescribeResult {
  plan: DescribePlan;
  response: ApiResult<unknown>;
  answer: Answer;
}

export type { RetryEvent };
export { isCutOff } from '../api/index.ts';

export const USER_AGENT = `imgdesc/${VERSION}`;

/** Throws exit 3 with how to fix it when the relay cannot be reached with these settings. */
export function requireCredentials(settings: Settings): { baseUrl: string; token: string } {
  if (!settings.baseUrl) {
    throw new ConfigError('no base URL configured', {
      hint: 'run imgdesc init to set up a relay, or set IMGDESC_BASE_URL',
    });
  }
  if (!settings.token) {
    throw new ConfigError('no API token configured', {
      hint: 'printf %s "$TOKEN" | imgdesc config set token, or set IMGDESC_TOKEN',
    });
  }
  return { baseUrl: settings.baseUrl, token: settings.token };
}

/**
 * What every run checks before reading an image: credentials (not needed for --dry-run), and
 * warnings about the connection to show the user.
 */
export function checkRelay(settings: Settings, dryRun: boolean): string[] {
  if (!dryRun) requireCredentials(settings);
  return settings.baseUrl && isInsecureRemote(settings.baseUrl)
    ? [`${settings.baseUrl} is plain http: the token travels in clear text`]
    : [];
}

/** The form of a pasted base URL that is stored: `https://h/` → `https://h/v1`; an endpoint stays exact. */
export function normalizeBaseUrl(url: string): string {
  return resolveEndpoints(url).stored;
}

export function imageOptions(settings: Settings, ctx: CoreContext): ImageOptions {
  const opts: ImageOptions = {
    maxEdge: settings.maxEdge,
    maxBytes: settings.maxBytes,
    resize: settings.resize,
    keepMetadata: settings.keepMetadata,
    ...(settings.prepareTimeoutMs !== undefined ? { prepareTimeoutMs: settings.prepareTimeoutMs } : {}),
    passUrl: settings.passUrl,
    urlPolicy: { allowPrivate: settings.allowPrivateUrls },
    maxInputBytes: settings.maxInputBytes,
    timeoutMs: settings.timeoutMs,
    ...(settings.model ? { model: settings.model } : {}),
    signal: ctx.signal,
    stdin: ctx.stdin,
    cwd: ctx.cwd,
  };
  if (ctx.searchPath) opts.searchPath = ctx.searchPath;
  if (ctx.exiftool) opts.exiftool = ctx.exiftool;
  if (ctx.dryRun) opts.noFetch = true;
  return opts;
}

export function clientOptions(settings: Settings, ctx: CoreContext): ClientOptions {
  const { baseUrl, token } = requireCredentials(settings);
  const opts: ClientOptions = {
    baseUrl,
    token,
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    signal: ctx.signal,
    userAgent: USER_AGENT,
  };
  if (ctx.onRetry) opts.onRetry = ctx.onRetry;
  if (ctx.dispatcher) opts.dispatcher = ctx.dispatcher;
  if (ctx.gate) opts.gate = ctx.gate;
  return opts;
}

/**
 * Reads and prepares the images and builds the request, sending nothing. Batch passes what it
 * has already done once for every image: the prepared image and the parsed --schema.
 */
export async function planDescribe(
  inputs: string[],
  prompt: string,
  settings: Settings,
  ctx: CoreContext,
  done: { prepared: PreparedImage[]; structured: StructuredSpec | undefined } | undefined = undefined,
): Promise<DescribePlan> {
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  let images = done?.prepared;
  if (!images) {
    const opts = imageOptions(settings, ctx);
    images = [];
    for (const input of inputs) images.push(await loadImage(input, opts));
  }
  const structured = done ? done.structured : await structuredRequest(settings, ctx.cwd, ctx.signal);
  const model = settings.model ?? '';
  const family = adaptRequest(model, {
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    n: settings.n,
    reasoningEffort: settings.reasoningEffort,
  });
  const body = buildChatBody({
    model,
    prompt: structured?.promptSuffix ? `${prompt}\n\n${structured.promptSuffix}` : prompt,
    system: settings.system,
    images: images.map((img) => ({ url: img.url, detail: settings.detail })),
    extra: { ...family.fields, ...structured?.extra, ...(settings.stream ? { stream: true } : {}) },
  });
  const url = settings.baseUrl ? resolveEndpoints(settings.baseUrl).chat : '(no base URL configured)';
  return {
    url,
    headers: {
      Authorization: settings.token ? `Bearer ${settings.token}` : '(no token configured)',
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    },
    body,
    images,
    structured,
    family,
  };
}

/** Sends one body; a 2xx that is no usable answer names the request id, like an HTTP error does. */
async function ask(
  body: Record<string, unknown>,
  settings: Settings,
  ctx: CoreContext,
): Promise<{ response: ApiResult<unknown>; answer: Answer }> {
  const response = maskEchoedToken(await createChatCompletion(body, clientOptions(settings, ctx)), settings.token);
  try {
    return { response, answer: readAnswer(response.body) };
  } catch (error) {
    // The same line as an HTTP error: a relay's support needs the request id to look it up.
    const id = response.requestId;
    if (error instanceof InvalidResponseError && id && !error.message.includes(id)) {
      throw new InvalidResponseError(`${error.message} (request id ${id})`, {
        status: response.status,
        requestId: id,
        hint: error.hint,
        cause: error,
        answer: error.answer,
      });
    }
    throw error;
  }
}

/**
 * Sends the plan. Schema mode auto: a 400 refusing response_format is asked once more without it
 * (the schema is in the prompt too). -n: families that ignore `n` (and relays that drop it) give
 * fewer answers; the rest are asked for in more requests, and the bodies assembled into one.
 */
export async function sendDescribe(plan: DescribePlan, settings: Settings, ctx: CoreContext): Promise<DescribeResult> {
  let body = plan.body;
  let first: { response: ApiResult<unknown>; answer: Answer };
  try {
    first = await ask(body, settings, ctx);
  } catch (error) {
    const refused = error instanceof APIError && body.response_format !== undefined && mentionsResponseFormat(error.status, error.message);
    if (refused && plan.structured?.mode === 'auto') {
      ctx.onNote?.('the relay refused response_format: asking again with the schema in the prompt only');
      const { response_format: _dropped, ...rest } = body;
      body = rest;
      first = await ask(body, settings, ctx);
    } else if (refused) {
      throw new CliError((error as APIError).message, (error as APIError).exitCode, {
        hint: 'this relay rejects response_format; try --schema-mode auto or prompt',
        cause: error,
      });
    } else throw error;
  }
  const wanted = plan.family.answers;
  if (first.answer.contents.length >= wanted) return { plan, ...first };

  const responses = [first.response];
  let got = first.answer.contents.length;
  while (got < wanted) {
    const { n: _n, ...rest } = body;
    const more = wanted - got;
    const next = plan.family.perRequest > 1 && more > 1 ? { ...rest, n: more } : rest;
    let r: { response: ApiResult<unknown>; answer: Answer };
    try {
      r = await ask(next, settings, ctx);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(
        `got ${got} of ${wanted} answers; asking for the rest failed: ${why}`,
        error instanceof CliError ? error.exitCode : ExitCode.api,
        {
          hint: error instanceof CliError ? error.hint : undefined,
          cause: error,
        },
      );
    }
    responses.push(r.response);
    got += r.answer.contents.length;
  }
  const merged = mergeCompletions(
    responses.map((r) => r.body),
    wanted,
  );
  const response: ApiResult<unknown> = {
    ...first.response,
    body: merged,
    rawText: JSON.stringify(merged),
    attempts: responses.reduce((a, r) => a + r.attempts, 0),
    elapsedMs: responses.reduce((a, r) => a + r.elapsedMs, 0),
  };
  return { plan, response, answer: readAnswer(merged) };
}

/**
 * A model asked about a screenshot of a terminal may read the token back out of it: it is masked
 * in the answer (and the raw body of --json) as everywhere else.
 */
export function maskEchoedToken(response: ApiResult<unknown>, token: string | undefined): ApiResult<unknown> {
  if (!token || token.length < 8 || !response.rawText.includes(token)) return response;
  const mask = (text: string) => text.split(token).join(maskToken(token));
  return { ...response, rawText: mask(response.rawText), body: JSON.parse(mask(JSON.stringify(response.body))) as unknown };
}

/**
 * The answer as a person reads it, on stdout or in a sidecar: each candidate trimmed, candidates
 * separated by a blank line; a structured answer as indented JSON. Terminal control in it is
 * removed (escaped in JSON) unless `raw` (--raw) asks for the answer byte for byte. `numbered`
 * (a terminal reads it) starts each of several candidates with `1.`, `2.`; a pipe gets them bare.
 */
export function answerText(answer: Answer, structured: { data: unknown } | undefined, raw = false, numbered = false): string {
  if (structured) return jsonSafe(JSON.stringify(structured.data, null, 2)) + '\n';
  const texts = answer.contents.map((c) => (raw ? c : cleanAnswer(c)).trim());
  const number = numbered && texts.length > 1;
  return texts.map((t, i) => (number ? `${i + 1}. ${t}` : t)).join('\n\n') + '\n';
}

/** The structured answer(s): one object, or an array of them with -n. */
export async function parseStructured(answer: Answer, spec: StructuredSpec): Promise<unknown> {
  const parsed = await Promise.all(answer.contents.map((c) => parseStructuredAnswer(c, spec)));
  return parsed.length === 1 ? parsed[0] : parsed;
}

/**
 * What --dry-run shows: the plan with the token masked and each image's data shortened to its size,
 * so it can be read and pasted into an issue without leaking anything.
 */
export function redactPlan(
  plan: DescribePlan,
  token: string | undefined,
): { method: string; url: string; headers: Record<string, string>; body: unknown } {
  const headers = { ...plan.headers };
  if (token) headers.Authorization = `Bearer [redacted ${maskToken(token)}]`;
  const body = JSON.parse(JSON.stringify(plan.body), (_key, value: unknown) => {
    if (typeof value === 'string' && value.startsWith('data:')) {
      const comma = value.indexOf(',');
      const head = value.slice(0, comma + 1);
      const b64 = value.length - comma - 1;
      const bytes = Math.floor((b64 * 3) / 4) - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
      return `${head}… (${b64} base64 characters, ${bytes} bytes)`;
    }
    return value;
  }) as unknown;
  return { method: 'POST', url: plan.url, headers, body };
}

/** Which HEIC decoder this install uses, for `imgdesc version`: the one a HEIC image would get. */
export async function heicDecoder(env: Record<string, string | undefined>): Promise<string> {
  const { findHeifTool } = await import('../image/index.ts');
  const tool = await findHeifTool(env.PATH);
  return tool ? `system libheif (${tool})` : 'libheif WebAssembly (heic-decode); no system libheif (heif-dec or heif-convert) on PATH';
}
