// The API layer: request building, the HTTP client, retries, typed errors.
// undici is loaded only when a request goes through it (src/undici.ts), so importing this index
// costs nothing at startup.
export { resolveEndpoints, isInsecureRemote } from './url.ts';
export type { Endpoints } from './url.ts';
export { buildChatBody } from './request.ts';
export type { ChatRequestInput } from './request.ts';
export { readAnswer, readModelIds, isCutOff, mergeCompletions } from './response.ts';
export type { Answer } from './response.ts';
export {
  APIError,
  APIConnectionError,
  APITimeoutError,
  InvalidResponseError,
  isModelNotFound,
  isNoChannel,
  isQuotaError,
  isModelDenied,
} from './errors.ts';
export { rateHints } from './retry.ts';
export { createChatCompletion, listModels, getJson, getDispatcher } from './client.ts';
export type { ClientOptions, ApiResult, GateOutcome, RateGate, RetryEvent } from './client.ts';
export { modelFamily, adaptRequest, takesNoImages } from './families.ts';
export type { Family, FamilyPlan, GenericRequest } from './families.ts';
export { pickModel, isVisionModel, closestModels } from './picker.ts';
