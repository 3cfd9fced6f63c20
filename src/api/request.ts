// The chat-completions request body (docs/config.md "Models": what each family accepts). Pure.

export interface ChatImage {
  /** http(s) URL passed through, or a `data:image/...;base64,` URL. */
  url: string;
  detail?: 'low' | 'high' | 'auto' | undefined;
}

export interface ChatRequestInput {
  model: string;
  prompt: string;
  system?: string | undefined;
  images: ChatImage[];
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  /** Extra top-level fields (response_format, reasoning_effort, n ...); undefined values are dropped. */
  extra?: Record<string, unknown> | undefined;
}

// Fields the input defines itself; `extra` cannot replace them by accident.
const OWN_FIELDS = new Set(['model', 'messages']);

/**
 * `{"model","messages":[system?, user:[text, image_url...]],"max_tokens"?,"temperature"?, ...extra}`.
 * An empty prompt sends no text part: Anthropic-backed relays reject empty text blocks.
 */
export function buildChatBody(input: ChatRequestInput): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (input.prompt !== '') content.push({ type: 'text', text: input.prompt });
  for (const image of input.images) {
    const imageUrl: Record<string, unknown> = { url: image.url };
    if (image.detail !== undefined) imageUrl['detail'] = image.detail;
    content.push({ type: 'image_url', image_url: imageUrl });
  }

  const messages: Record<string, unknown>[] = [];
  if (input.system !== undefined && input.system !== '') messages.push({ role: 'system', content: input.system });
  messages.push({ role: 'user', content });

  const body: Record<string, unknown> = { model: input.model, messages };
  if (input.maxTokens !== undefined) body['max_tokens'] = input.maxTokens;
  if (input.temperature !== undefined) body['temperature'] = input.temperature;
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (value !== undefined && !OWN_FIELDS.has(key)) body[key] = value;
  }
  return body;
}
