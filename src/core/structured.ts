// Structured answers (--schema, --schema-mode, --no-validate): turn the user's schema into request
// extras, and check the model's answer against it.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError, ExitCode, InterruptedError, UsageError } from '../types.ts';
import { MAX_JSON_DEPTH, nestsDeeper } from '../json-depth.ts';
import { schemaLoop } from './schema-loops.ts';
import { ReadCapError, readFileCapped } from '../read-capped.ts';

/** A schema file bigger than this is not a schema (a device, a log, a wrong path). */
const MAX_SCHEMA_BYTES = 1024 * 1024;

export interface StructuredSpec {
  schema: Record<string, unknown>;
  /** json_schema.name: the schema's title sanitised to [A-Za-z0-9_-]{1,64}, else "answer". */
  name: string;
  mode: SchemaMode;
  validate: boolean;
  /** Merged into the request body. */
  extra: Record<string, unknown>;
  /** Prompt mode: appended to the user's prompt. */
  promptSuffix: string | undefined;
}

/**
 * auto (default): response_format and the schema in the prompt, because relays drop response_format
 * for Claude (one-api relay/adaptor/anthropic/main.go, new-api relay/channel/claude/relay-claude.go);
 * json_schema: response_format only; prompt: the prompt only.
 */
export type SchemaMode = 'auto' | 'json_schema' | 'prompt';

export interface StructuredSettings {
  schema: string | undefined;
  schemaMode: SchemaMode;
  validate: boolean;
}

type Validator = ((data: unknown) => boolean) & {
  errors?:
    | Array<{ instancePath: string; message?: string | undefined; keyword: string; params: Record<string, unknown> }>
    | null
    | undefined;
};

const SHORT_TYPES: Record<string, Record<string, unknown>> = {
  string: { type: 'string' },
  int: { type: 'integer' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  float: { type: 'number' },
  bool: { type: 'boolean' },
  boolean: { type: 'boolean' },
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const RETRY_HINT = 'rerun, or pass --no-validate to accept it';

/**
 * 'caption, tags string[], nsfw bool' → a strict object schema. Every field is required and no
 * others are allowed, because OpenAI's strict mode rejects a schema that is anything less.
 */
export function parseShortSchema(text: string): Record<string, unknown> {
  if (text.trim() === '') throw new UsageError('--schema: the schema is empty');
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const fields = text.split(',');
  fields.forEach((raw, i) => {
    const field = raw.trim();
    if (field === '') {
      throw new UsageError(`--schema: field ${i + 1} of ${fields.length} is empty (fields are separated by commas)`);
    }
    // "tags string []" and "tags string[]" are the same field; split the array marker off first.
    const m = /^(.*?)\s*(\[\s*\])?$/.exec(field);
    const body = m?.[1] ?? field;
    const isArray = m?.[2] !== undefined;
    const parts = body.split(/\s+/).filter(Boolean);
    const [name, typeWord, ...rest] = parts;
    if (name === undefined) throw new UsageError(`--schema: field ${i + 1} has no name: '${field}'`);
    if (rest.length > 0) {
      throw new UsageError(`--schema: cannot read field '${field}' (write it as: name [type][[]], e.g. 'tags string[]')`);
    }
    if (!NAME_RE.test(name)) {
      throw new UsageError(`--schema: invalid field name '${name}' (use letters, digits, _ and -)`);
    }
    const typeName = (typeWord ?? 'string').toLowerCase();
    const base = SHORT_TYPES[typeName];
    if (!base) {
      throw new UsageError(`--schema: unknown type '${typeWord}' for field '${name}' (use string, int, number, bool, optionally with [])`);
    }
    if (Object.hasOwn(properties, name)) throw new UsageError(`--schema: duplicate field '${name}'`);
    properties[name] = isArray ? { type: 'array', items: { ...base } } : { ...base };
    required.push(name);
  });
  return { type: 'object', properties, required, additionalProperties: false };
}

function parseSchemaJson(text: string, source: string): Record<string, unknown> {
  if (nestsDeeper(text)) throw new UsageError(`--schema: ${source} nests deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--schema: ${source} is not valid JSON: ${shortReason(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--schema: ${source} must be a JSON object (a JSON Schema)`);
  }
  // Checked before anything is sent: validating an answer against such a schema never ends.
  const loop = schemaLoop(value as Record<string, unknown>);
  if (loop)
    throw new UsageError(`--schema: ${source} refers to itself without descending into the answer (${loop.join(' → ')})`, {
      hint: 'a recursive schema must recurse through properties or items',
    });
  return value as Record<string, unknown>;
}

/** Anything to read that is not a folder: a file, but also a FIFO or /dev/stdin (read capped). */
async function isFile(path: string): Promise<boolean> {
  try {
    return !(await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Text that can only have been meant as a file name; without this, a typo would be read as a short form. */
function looksLikePath(text: string): boolean {
  return /\.json$/i.test(text) || /[/\\]/.test(text);
}

async function loadSchema(text: string, cwd: string, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseSchemaJson(trimmed, 'inline schema');
  const path = resolve(cwd, trimmed);
  if (trimmed !== '' && (await isFile(path))) {
    let content: string;
    try {
      content = (await readFileCapped(path, { max: MAX_SCHEMA_BYTES, signal })).toString('utf8');
    } catch (err) {
      if (err instanceof ReadCapError) throw new UsageError(`--schema: ${trimmed} is larger than 1 MiB; is this the right file?`);
      if (err instanceof InterruptedError) throw err;
      throw new UsageError(`--schema: cannot read ${trimmed}: ${(err as NodeJS.ErrnoException).code ?? shortReason(err)}`);
    }
    return parseSchemaJson(content.replace(/^\uFEFF/, ''), trimmed);
  }
  if (looksLikePath(trimmed)) throw new UsageError(`--schema: no such file: ${trimmed}`);
  return parseShortSchema(trimmed);
}

function schemaName(schema: Record<string, unknown>): string {
  const title = schema.title;
  if (typeof title !== 'string') return 'answer';
  const name = title
    .trim()
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
  return name === '' ? 'answer' : name;
}

function promptSuffixFor(schema: Record<string, unknown>): string {
  return (
    'Answer ONLY with a JSON object that matches this JSON Schema: no prose, no explanation, no code fences.\n' +
    JSON.stringify(schema, null, 2)
  );
}

export async function structuredRequest(
  settings: StructuredSettings,
  cwd: string,
  signal?: AbortSignal,
): Promise<StructuredSpec | undefined> {
  if (settings.schema === undefined) return undefined;
  const schema = await loadSchema(settings.schema, cwd, signal);
  const name = schemaName(schema);
  const mode = settings.schemaMode;
  const spec: StructuredSpec = {
    schema,
    name,
    mode,
    validate: settings.validate,
    extra: mode === 'prompt' ? {} : { response_format: { type: 'json_schema', json_schema: { name, strict: true, schema } } },
    promptSuffix: mode === 'json_schema' ? undefined : promptSuffixFor(schema),
  };
  // Compiling now turns a broken schema into exit 2 before anything is sent, rather than a
  // paid request whose answer can never validate.
  await validatorFor(spec);
  return spec;
}

// One compile per spec: describe makes one, and batch shares one across all its images.
const validators = new WeakMap<StructuredSpec, Promise<Validator>>();

type Ajv = import('ajv/dist/2020.js').default;

async function newAjv(): Promise<Ajv> {
  // Loaded only here so that runs without --schema never pay for ajv.
  const [{ default: ajvModule }, { default: formatsModule }] = await Promise.all([import('ajv/dist/2020.js'), import('ajv-formats')]);
  const ajv = new ajvModule.default({ strict: false, allErrors: false });
  formatsModule.default(ajv);
  return ajv;
}

/**
 * The process's instance for schemas without an `$id`, most of them: an instance compiles the
 * draft 2020-12 meta-schema with its first schema (~30 ms), so once per process this way (an MCP
 * server compiles the schema of each call). Each schema is removed from it once compiled.
 */
let shared: Promise<Ajv> | undefined;

async function compileSchema(schema: Record<string, unknown>): Promise<Validator> {
  // A schema with an `$id` anywhere gets an instance of its own: two user schemas sharing an $id
  // must not collide in one registry (a nested one stays registered after removeSchema).
  const own = JSON.stringify(schema).includes('"$id"');
  const ajv = own ? await newAjv() : await (shared ??= newAjv());
  try {
    return ajv.compile(schema) as Validator;
  } catch (err) {
    throw new UsageError(`--schema: the schema cannot be used: ${shortReason(err)}`);
  } finally {
    if (!own) ajv.removeSchema(schema);
  }
}

function validatorFor(spec: StructuredSpec): Promise<Validator> {
  let v = validators.get(spec);
  if (!v) {
    v = compileSchema(spec.schema);
    validators.set(spec, v);
  }
  return v;
}

/** Models often wrap JSON in a markdown fence despite being told not to. */
function unwrapFence(text: string): string {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  const m = /^```[A-Za-z0-9_-]*[^\S\n]*\n?([\s\S]*?)\n?[^\S\n]*```$/.exec(trimmed);
  return (m ? (m[1] ?? '') : trimmed).trim();
}

function shortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg.split('\n')[0] ?? msg;
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

function invalidJson(reason: string, body: string, mode: SchemaMode): CliError {
  const head = body.replace(/\s+/g, ' ').slice(0, 80);
  const began = body === '' ? '' : `; it began: ${head}`;
  // Rerunning cannot help when the relay dropped response_format (Claude channels do) and the prompt never asked for JSON.
  const hint =
    mode === 'json_schema'
      ? 'the relay may drop response_format for this model: use --schema-mode auto, or pass --no-validate to accept it'
      : RETRY_HINT;
  return new CliError(`answer is not valid JSON: ${reason}${began}`, ExitCode.api, { hint });
}

export async function parseStructuredAnswer(text: string, spec: StructuredSpec): Promise<unknown> {
  const body = unwrapFence(text);
  let value: unknown;
  try {
    if (body === '') throw new SyntaxError('the answer is empty');
    if (nestsDeeper(body)) throw new SyntaxError(`it nests deeper than ${MAX_JSON_DEPTH} levels`);
    value = JSON.parse(body);
  } catch (err) {
    // --no-validate means "give me whatever came back": never fail on the answer's shape.
    if (!spec.validate) return text;
    throw invalidJson(shortReason(err), body, spec.mode);
  }
  if (!spec.validate) return value;
  const validate = await validatorFor(spec);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    let detail = 'does not validate';
    if (e) {
      const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
      detail = `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
    }
    throw new CliError(`answer does not match the schema: ${detail}`, ExitCode.api, { hint: RETRY_HINT });
  }
  return value;
}

/** Whether an API error is a relay refusing response_format, so the CLI can suggest prompt mode. */
export function mentionsResponseFormat(status: number | undefined, message: string): boolean {
  if (status !== undefined && status !== 400 && status !== 422) return false;
  if (/response_format|json_schema|structured/i.test(message)) return true;
  return /not supported|unsupported/i.test(message) && /format/i.test(message);
}
