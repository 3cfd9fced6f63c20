// `imgdesc mcp`: a Model Context Protocol server on stdio (the official SDK), so a coding agent
// that cannot see images can ask imgdesc's relay and model. The tools reuse the describe flow of
// core: images prepared as `describe` prepares them, the same model choice, retries and errors.
// stdout belongs to the transport: nothing else here writes to it (logs go through `log`, which the
// command sends to stderr).
import { resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolResult,
  type JSONRPCMessage,
  RootsListChangedNotificationSchema,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Settings } from '../config/settings.ts';
import type { AnswerMemory } from '../core/answers.ts';
import { askAbout } from '../core/ask.ts';
import { answerText, type CoreContext, isCutOff, type RetryEvent } from '../core/describe.ts';
import { visionModels } from '../core/models.ts';
import { parseShortSchema } from '../core/structured.ts';
import { CliError, ExitCode, UsageError } from '../types.ts';
import { type Confinement, classifyImage, confinePath, realDir, rootPath } from './paths.ts';

export interface McpServeOptions {
  settings: Settings;
  version: string;
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  /** The folder the server started in: paths are confined to it and `allowDirs` without client roots. */
  cwd: string;
  allowDirs: string[];
  cacheDir: string | undefined;
  /** The answer cache and the history (core/answers.ts openMemory); none: neither. */
  memory?: AnswerMemory | undefined;
  searchPath: string | undefined;
  /** Aborted when the process is told to stop: serving ends, calls in flight are aborted. */
  signal: AbortSignal;
  log: { warn(message: string): void; info(message: string): void };
  /** The CLI's one line for an error: a failed call's text. */
  errorLine(error: unknown): Promise<string>;
  formatRetry(e: RetryEvent): string;
  /** While a call runs, a progress notification this often (when the client asked for them). */
  progressEveryMs?: number;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What describe_image and compare_images may set for one call. */
export interface CallArgs {
  prompt?: string | undefined;
  model?: string | undefined;
  max_tokens?: number | undefined;
  detail?: Settings['detail'];
  schema?: unknown;
}

const INSTRUCTIONS = `imgdesc lets you see images through the user's own vision model relay.
Call describe_image whenever you need to know what an image shows (a screenshot, photo, diagram,
chart, UI mockup, scanned page): ask a specific question in prompt for a specific answer. Call
compare_images to compare 2 to 8 images in one question. list_models shows the vision models the
relay offers. Local files must be inside the workspace roots (or the folder the server runs in).`;

const IMAGE_HELP =
  'a local file path (absolute, or relative to the first workspace root), a file:// URL, an http(s) URL, or a data: URL (base64)';

const common = {
  model: z.string().min(1).optional().describe('Model id to use instead of the configured one (list_models shows the choices)'),
  max_tokens: z.number().int().positive().optional().describe('Longest answer in tokens; raise it when an answer comes back cut off'),
  detail: z
    .enum(['low', 'high', 'auto'])
    .optional()
    .describe('Image detail hint: low is cheaper and enough for the gist, high reads small text'),
  schema: z
    .union([z.record(z.string(), z.unknown()), z.string()])
    .optional()
    .describe(
      'A JSON Schema object the answer must follow, or a short form like \'caption, tags string[], has_text bool\'. The answer is validated and returned as structuredContent as well as text (an answer that is not an object comes as {"value": …})',
    ),
};

/** Serves until the client closes stdin (calls in flight are answered first) or `signal` stops it. */
export async function serveMcp(o: McpServeOptions): Promise<void> {
  const stop = new AbortController();
  const progressEveryMs = o.progressEveryMs ?? 3000;
  const startDirs = [await realDir(o.cwd), ...(await Promise.all(o.allowDirs.map((d) => realDir(d))))];
  const ownRule: Confinement = { rule: 'dirs', dirs: startDirs, base: o.cwd };
  let confinement: Promise<Confinement> = Promise.resolve(ownRule);
  const emptyStdin = Readable.from([]);

  const server = new McpServer(
    { name: 'imgdesc', title: 'imgdesc: image descriptions for agents', version: o.version },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );

  const loadRoots = async (): Promise<Confinement> => {
    try {
      const { roots } = await server.server.listRoots(undefined, { timeout: 10_000 });
      const paths = roots.flatMap((r) => rootPath(r.uri) ?? []);
      const dirs = await Promise.all(paths.map((p) => realDir(p)));
      o.log.info(`client roots: ${dirs.join(', ') || 'none'}`);
      return { rule: 'roots', dirs, base: paths[0] ?? o.cwd };
    } catch (err) {
      o.log.warn(
        `the client declares roots but did not list them (${err instanceof Error ? err.message : String(err)}): files are read from ${startDirs.join(', ')}`,
      );
      return ownRule;
    }
  };
  server.server.oninitialized = () => {
    if (server.server.getClientCapabilities()?.roots) confinement = loadRoots();
  };
  server.server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    confinement = loadRoots();
  });

  /** The inputs loadImage gets: URLs as given, paths checked and made real. */
  const resolveImages = async (inputs: string[], c: Confinement): Promise<string[]> => {
    const out: string[] = [];
    for (const input of inputs) {
      const k = classifyImage(input);
      if (k.kind === 'refused') throw new UsageError(k.why);
      if (k.kind !== 'path') out.push(k.value);
      else {
        // The path as given when no symlink is on it, so messages name it as the CLI does;
        // otherwise the real path that was checked.
        const real = await confinePath(input, k.value, c);
        out.push(resolve(c.base, k.value) === real ? k.value : real);
      }
    }
    return out;
  };

  /** Runs one tool call: progress while it runs, its failure as a tool result with the CLI's line. */
  const call = async (
    name: string,
    label: string,
    extra: Extra,
    fn: (ctx: CoreContext, progress: Progress, c: Confinement) => Promise<CallToolResult>,
  ): Promise<CallToolResult> => {
    const c = await confinement;
    const signal = AbortSignal.any([extra.signal, stop.signal]);
    const progress = new Progress(extra, progressEveryMs);
    const ctx: CoreContext = {
      stdin: emptyStdin,
      cwd: c.base,
      signal,
      searchPath: o.searchPath,
      cacheDir: o.cacheDir,
      memory: o.memory,
      onRetry: (e) => {
        const line = o.formatRetry(e);
        progress.report(line);
        o.log.info(`${name} ${label}: ${line}`);
      },
    };
    try {
      const result = await fn(ctx, progress, c);
      o.log.info(`${name} ${label}: ${summary(result)}`);
      return result;
    } catch (error) {
      const text = await o.errorLine(error);
      o.log.info(`${name} ${label}: ${signal.aborted ? 'cancelled' : text}`);
      const exitCode = error instanceof CliError ? error.exitCode : ExitCode.internal;
      return { content: [{ type: 'text', text }], isError: true, _meta: { imgdesc: { exit_code: exitCode } } };
    } finally {
      progress.stop();
    }
  };

  const describe = async (
    inputs: string[],
    args: CallArgs,
    ctx: CoreContext,
    progress: Progress,
    c: Confinement,
  ): Promise<CallToolResult> => {
    const settings = callSettings(o.settings, args);
    progress.report(inputs.length > 1 ? `preparing ${inputs.length} images` : 'preparing the image');
    const images = await resolveImages(inputs, c);
    const notes: string[] = [];
    ctx.onNote = (m) => notes.push(m);
    const asked = await askAbout(
      images,
      settings,
      ctx,
      { command: 'mcp', images },
      {
        onSending: (model, plan) => {
          for (const img of plan.images) notes.push(...img.warnings);
          progress.report(`asking ${model}`);
        },
        onRepicked: (from, to) => notes.push(`${from} is gone from the relay: used ${to}`),
      },
    );
    const { result, settings: used, structured } = asked;
    const { answer, response } = result;
    let text = answerText(answer, structured).trimEnd();
    if (isCutOff(answer.finishReason)) {
      text += `\n\n[imgdesc: the answer was cut off (finish_reason: ${answer.finishReason}); call again with a larger max_tokens for the whole answer]`;
    }
    const meta = {
      model: answer.model ?? used.model ?? null,
      usage: answer.usage ?? null,
      finish_reason: answer.finishReason,
      request_id: response.requestId,
      attempts: response.attempts,
      elapsed_ms: response.elapsedMs,
      ...(result.cached ? { cached: true } : {}),
      ...(notes.length ? { notes: [...new Set(notes)] } : {}),
    };
    const out: CallToolResult = { content: [{ type: 'text', text }], _meta: { imgdesc: meta } };
    if (structured) out.structuredContent = isRecord(structured.data) ? structured.data : { value: structured.data };
    return out;
  };

  server.registerTool(
    'describe_image',
    {
      title: 'Describe an image',
      description: `Look at one image and answer a question about it with a vision model (the user's imgdesc relay). Use it whenever you need to see an image: a screenshot, photo, diagram, chart, UI mockup or scanned page. Ask something specific in prompt ("what error does this dialog show?", "transcribe the table") for a specific answer. HEIC, RAW, TIFF, SVG and other formats are converted; large images are shrunk; location metadata is removed. Give schema to get JSON back. Returns the answer as text; _meta.imgdesc has the model and token usage.`,
      inputSchema: {
        image: z.string().min(1).describe(`The image: ${IMAGE_HELP}`),
        prompt: z.string().min(1).optional().describe('What to ask about the image (default: a detailed description)'),
        ...common,
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    (args, extra) => call('describe_image', short(args.image), extra, (ctx, progress, c) => describe([args.image], args, ctx, progress, c)),
  );

  server.registerTool(
    'compare_images',
    {
      title: 'Compare images',
      description: `Show 2 to 8 images to a vision model in one request and ask one question about them together: what changed between two screenshots, which design is better, is it the same object, do these match. The images are given to the model in the order listed (refer to them as first, second, …). Images are prepared as describe_image prepares them. Returns the answer as text; _meta.imgdesc has the model and token usage.`,
      inputSchema: {
        images: z.array(z.string().min(1)).min(2).max(8).describe(`The images, in order; each is ${IMAGE_HELP}`),
        prompt: z
          .string()
          .min(1)
          .describe('The question about the images together, e.g. "What changed between the first and the second screenshot?"'),
        ...common,
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    (args, extra) =>
      call('compare_images', `${args.images.length} images`, extra, (ctx, progress, c) => describe(args.images, args, ctx, progress, c)),
  );

  server.registerTool(
    'list_models',
    {
      title: 'List vision models',
      description:
        "List the vision-capable models the user's relay offers, marking the one describe_image uses by default. Pass one of these ids as model to describe_image or compare_images to use another.",
      outputSchema: {
        models: z.array(z.object({ id: z.string(), in_use: z.boolean() })),
        in_use: z.string().nullable(),
        listed: z.number().int().describe('How many models the relay lists in all (vision or not)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    (extra) =>
      call('list_models', '', extra, async (ctx) => {
        const { vision, ids, inUse } = await visionModels(o.settings, ctx);
        const shown = inUse && ids.includes(inUse) && !vision.includes(inUse) ? [inUse, ...vision] : vision;
        const models = shown.map((id) => ({ id, in_use: id === inUse }));
        const lines = models.map((m) => (m.in_use ? `${m.id} (in use)` : m.id));
        if (!models.length) lines.push(`the relay lists ${ids.length} models, none known to see images`);
        if (inUse && !ids.includes(inUse)) lines.push(`in use: ${inUse} (not in the relay's list)`);
        return {
          content: [{ type: 'text', text: lines.join('\n') }],
          structuredContent: { models, in_use: inUse ?? null, listed: ids.length },
        };
      }),
  );

  const transport = new StdioServerTransport(o.stdin as Readable, o.stdout);
  await server.connect(transport);
  const unanswered = trackRequests(transport);
  o.log.info(
    `serving MCP on stdio: profile ${o.settings.profile}, base URL ${o.settings.baseUrl}, model ${o.settings.model ?? "picked from the relay's list"}`,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      // The client closing stdin is the end of the session (MCP stdio transport, shutdown).
      const ended = () => resolve();
      o.stdin.once('end', ended);
      o.stdin.once('close', ended);
      server.server.onclose = ended;
      if (o.signal.aborted) reject(o.signal.reason);
      o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
    });
    // Answer what was asked before the end: `printf '…' | imgdesc mcp` gets its answers.
    await Promise.race([unanswered(), new Promise((resolve) => o.signal.addEventListener('abort', resolve, { once: true }))]);
  } finally {
    stop.abort();
    await server.close();
  }
}

/**
 * Counts the requests the client has sent and not had an answer to (nor cancelled); the promise
 * returned resolves once there are none. The SDK keeps no such count.
 */
function trackRequests(transport: StdioServerTransport): () => Promise<void> {
  const open = new Set<string | number>();
  let drained: (() => void) | undefined;
  const settle = () => {
    if (open.size === 0) drained?.();
  };
  const receive = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && 'id' in message) open.add(message.id);
    else if ('method' in message && message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof id === 'string' || typeof id === 'number') open.delete(id);
      settle();
    }
    receive?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: JSONRPCMessage) => {
    try {
      await send(message);
    } finally {
      if (!('method' in message) && 'id' in message && message.id !== undefined) {
        open.delete(message.id);
        settle();
      }
    }
  };
  return () =>
    new Promise<void>((resolve) => {
      drained = resolve;
      settle();
    });
}

/** Sends notifications/progress for a call whose client asked (a progressToken): at each step, and while waiting. */
class Progress {
  private count = 0;
  private last = 'working';
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly extra: Extra,
    everyMs: number,
  ) {
    if (this.token === undefined) return;
    this.timer = setInterval(() => this.send(`${this.last} (${Math.round((Date.now() - this.started) / 1000)} s)`), everyMs);
    this.timer.unref();
  }
  private get token(): string | number | undefined {
    return this.extra._meta?.progressToken;
  }
  report(message: string): void {
    this.last = message;
    this.send(message);
  }
  private send(message: string): void {
    const progressToken = this.token;
    if (progressToken === undefined || this.extra.signal.aborted) return;
    this.count++;
    this.extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: this.count, message } })
      .catch(() => {});
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** The server's settings with what one call asked for. */
export function callSettings(base: Settings, args: CallArgs): Settings {
  const s: Settings = { ...base };
  if (args.prompt !== undefined) s.prompt = args.prompt;
  if (args.model !== undefined) s.model = args.model;
  if (args.max_tokens !== undefined) s.maxTokens = args.max_tokens;
  if (args.detail !== undefined) s.detail = args.detail;
  if (args.schema !== undefined) s.schema = schemaText(args.schema);
  return s;
}

/**
 * The schema as the schema setting's JSON text. A string is JSON or the short form, never a file
 * name: the setting would read a file, which the confinement of paths does not cover.
 */
export function schemaText(schema: unknown): string {
  if (typeof schema !== 'string') return JSON.stringify(schema);
  return schema.trim().startsWith('{') ? schema : JSON.stringify(parseShortSchema(schema));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A label for logs: a data: URL shortened. */
function short(input: string): string {
  return input.length > 60 ? `${input.slice(0, 48)}…` : input;
}

function summary(result: CallToolResult): string {
  const meta = result._meta?.imgdesc as { model?: unknown; usage?: { total_tokens?: unknown } | null } | undefined;
  const tokens = meta?.usage?.total_tokens;
  return ['ok', meta?.model ? `model ${meta.model}` : '', typeof tokens === 'number' ? `${tokens} tokens` : ''].filter(Boolean).join(', ');
}
