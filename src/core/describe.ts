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
} from '../api/index.ts';
import { maskToken, type Settings } from '../config/settings.ts';
import { loadImage, type ImageOptions, type PreparedImage } from '../image/index.ts';
import { CliError, ConfigError, UsageError } from '../types.ts';
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
}

export interface DescribePlan {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  images: PreparedImage[];
  structured: StructuredSpec | undefined;
}

export interface DescribeResult {
  plan: DescribePlan;
  response: ApiResult<unknown>;
  answer: Answer;
}

export type { RetryEvent };

export const USER_AGENT = `imgdesc/${VERSION}`;

/** Throws exit 3 with how to fix it when the relay cannot be reached with these settings. */
export function requireCredentials(settings: Settings): { baseUrl: string; token: string } {
  if (!settings.baseUrl) {
    throw new ConfigError('no base URL configured', {
      hint: 'imgdesc config set base-url https://relay.example.com, or set IMGDESC_BASE_URL',
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
  return settings.baseUrl && isInsecureRemote(settings.baseUrl) ? [`${settings.baseUrl} is plain http: the token travels in clear text`] : [];
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
    inline: settings.inline,
    maxInputBytes: settings.maxInputBytes,
    timeoutMs: settings.timeoutMs,
    model: settings.model,
    signal: ctx.signal,
    stdin: ctx.stdin,
    cwd: ctx.cwd,
  };
  if (ctx.searchPath) opts.searchPath = ctx.searchPath;
  if (ctx.exiftool) opts.exiftool = ctx.exiftool;
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
  const structured = done ? done.structured : await structuredRequest(settings, ctx.cwd);
  const extra: Record<string, unknown> = { ...structured?.extra };
  if (settings.reasoningEffort) extra.reasoning_effort = settings.reasoningEffort;
  if (settings.n !== undefined && settings.n > 1) extra.n = settings.n;
  const body = buildChatBody({
    model: settings.model,
    prompt: structured?.promptSuffix ? `${prompt}\n\n${structured.promptSuffix}` : prompt,
    system: settings.system,
    images: images.map((img) => ({ url: img.url, detail: settings.detail })),
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    extra,
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
  };
}

export async function sendDescribe(plan: DescribePlan, settings: Settings, ctx: CoreContext): Promise<DescribeResult> {
  let response: ApiResult<unknown>;
  try {
    response = await createChatCompletion(plan.body, clientOptions(settings, ctx));
  } catch (error) {
    if (plan.structured?.mode === 'json_schema' && error instanceof APIError && mentionsResponseFormat(error.status, error.message)) {
      throw new CliError(error.message, error.exitCode, {
        hint: 'this relay rejects response_format; try --schema-mode prompt',
        cause: error,
      });
    }
    throw error;
  }
  let answer: Answer;
  try {
    answer = readAnswer(response.body);
  } catch (error) {
    // The same line as an HTTP error: a relay's support needs the request id to look it up.
    const id = response.requestId;
    if (error instanceof InvalidResponseError && id && !error.message.includes(id)) {
      throw new InvalidResponseError(`${error.message} (request id ${id})`, { status: response.status, requestId: id, hint: error.hint, cause: error, answer: error.answer });
    }
    throw error;
  }
  return { plan, response, answer };
}

/**
 * The answer as a person reads it, on stdout or in a sidecar: each candidate trimmed, candidates
 * separated by a blank line; a structured answer as indented JSON.
 */
export function answerText(answer: Answer, structured: { data: unknown } | undefined): string {
  if (structured) return JSON.stringify(structured.data, null, 2) + '\n';
  return answer.contents.map((c) => c.trim()).join('\n\n') + '\n';
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
export function redactPlan(plan: DescribePlan, token: string | undefined): { method: string; url: string; headers: Record<string, string>; body: unknown } {
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
