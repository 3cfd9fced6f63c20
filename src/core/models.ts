// `models`: GET {base}/v1/models and the ids it lists.
import { listModels, readModelIds, type ApiResult } from '../api/index.ts';
import type { Settings } from '../config/settings.ts';
import { clientOptions, type CoreContext } from './describe.ts';

export async function fetchModels(settings: Settings, ctx: CoreContext): Promise<{ response: ApiResult<unknown>; ids: string[] }> {
  const response = await listModels(clientOptions(settings, ctx));
  return { response, ids: readModelIds(response.body) };
}
