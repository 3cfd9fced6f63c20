// The API layer: request building, the undici client, retries, typed errors.
// Only client.ts loads undici, and only inside its functions (`await import('undici')`),
// so importing this index costs nothing at startup.
export { resolveEndpoints, isInsecureRemote } from './url.ts';
export type { Endpoints } from './url.ts';
export { buildChatBody } from './request.ts';
export type { ChatRequestInput, ChatImage } from './request.ts';
export { readAnswer, readModelIds, parseJsonBody, errorFromResponse, describeNonJson } from './response.ts';
export type { Answer, ParseContext } from './response.ts';
export {
  APIError,
  APIConnectionError,
  APITimeoutError,
  InvalidResponseError,
  REQUEST_ID_HEADERS,
  findRequestId,
  redact,
} from './errors.ts';
export { shouldRetry, retryDelayMs, retryAfterMs, MAX_RETRY_AFTER_MS } from './retry.ts';
export type { RetryCandidate } from './retry.ts';
export { createChatCompletion, listModels, getDispatcher, closeSharedDispatcher, DEFAULT_MAX_RESPONSE_BYTES } from './client.ts';
export type { ClientOptions, ApiResult, RateGate, RetryEvent } from './client.ts';
