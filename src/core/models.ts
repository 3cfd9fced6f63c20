// `models`: GET {base}/v1/models and the ids it lists.
import { listModels, type ApiResult } from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import { CliError, ExitCode } from '../types.ts';
import { clientOptions, type CoreContext } from './describe.ts';

export async function fetchModels(settings: Settings, ctx: CoreContext): Promise<{ response: ApiResult<unknown>; ids: string[] }> {
  const response = await listModels(clientOptions(settings, ctx));
  const data = (response.body as { data?: unknown })?.data;
  if (!Array.isArray(data)) {
    throw new CliError(`GET /v1/models: the answer has no "data" list (HTTP ${response.status})`, ExitCode.api);
  }
  const ids = data
    .map((m) => (m && typeof m === 'object' ? (m as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === 'string')
    .sort();
  return { response, ids };
}
