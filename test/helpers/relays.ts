// Test relays that answer like one-api and new-api do, read from their Go source:
// - errors: one-api middleware/utils.go abortWithMessage → {"error":{"message":"… (request id: …)","type":"one_api_error"}};
//   new-api middleware/utils.go abortWithOpenAiMessage → {"error":{"message":"… (request id: …)","type":"new_api_error","code":"…"}}
// - a bad token: 401 "无效的令牌" (one-api model/token.go ValidateUserToken, via middleware/auth.go TokenAuth)
// - no channel: 503 "当前分组 default 下对于模型 X 无可用渠道" (middleware/distributor.go Distribute)
// - billing: GET /v1/dashboard/billing/subscription → {"object":"billing_subscription","hard_limit_usd": remaining + used, …}
//   and /v1/dashboard/billing/usage → {"object":"list","total_usage": used × 100} (controller/billing.go, both relays)
// - new-api GET /api/usage/token → {"code":true,"message":"ok","data":{"object":"token_usage","total_granted",…}}
//   (controller/token.go GetTokenUsage)
// - unknown paths: both relays serve their web UI (index.html, 200) for routes they do not have (router/web-router.go NoRoute).
import type { ServerResponse } from 'node:http';
import { TOKEN } from './cli.ts';
import { completion, sendJson, serverPool, startServer, type RecordedRequest, type TestServer } from './server.ts';

export interface RelayOptions {
  kind: 'one-api' | 'new-api' | 'plain';
  /** Where the relay is mounted, e.g. '/relay' (nginx in front). */
  prefix?: string;
  /** The API root below the prefix: '/v1' (default) or '' for a relay that is not versioned. */
  version?: string;
  models?: string[];
  /** Listed, but the relay has no channel for them: 503 无可用渠道. */
  noChannel?: string[];
  /** Quota in USD; absent = the endpoints exist with plenty left; null = a relay without them. */
  quota?: { remaining: number; used: number; unlimited?: boolean } | null;
}

export const VISION_MODELS = ['claude-sonnet-4-5-20250929', 'gpt-4o', 'gemini-2.5-flash'];

const REQUEST_ID = '20251127150000123456789';

function relayError(res: ServerResponse, kind: RelayOptions['kind'], status: number, message: string, code = ''): void {
  const body =
    kind === 'one-api'
      ? { error: { message: `${message} (request id: ${REQUEST_ID})`, type: 'one_api_error' } }
      : kind === 'new-api'
        ? { error: { message: `${message} (request id: ${REQUEST_ID})`, type: 'new_api_error', code } }
        : { error: { message, type: 'invalid_request_error', code: code || null } };
  sendJson(res, status, body, { 'x-oneapi-request-id': REQUEST_ID });
}

function webUi(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><html><head><title>New API</title></head><body><div id="root"></div></body></html>');
}

export function relayHandler(o: RelayOptions) {
  const prefix = o.prefix ?? '';
  const root = `${prefix}${o.version ?? '/v1'}`;
  const models = o.models ?? [...VISION_MODELS, 'text-embedding-3-small'];
  return (req: RecordedRequest, res: ServerResponse): void => {
    const path = req.url.split('?')[0] ?? '';
    const authorized = req.headers.authorization === `Bearer ${TOKEN}`;
    const api = (p: string) => path === `${root}${p}`;
    const needsToken = () => {
      if (authorized) return false;
      relayError(res, o.kind, 401, req.headers.authorization && req.headers.authorization !== 'Bearer ' ? '无效的令牌' : '未提供令牌');
      return true;
    };
    if (req.method === 'GET' && api('/models')) {
      if (needsToken()) return;
      sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1626777600, owned_by: 'custom' })) });
      return;
    }
    if (req.method === 'POST' && api('/chat/completions')) {
      if (needsToken()) return;
      const model = String(req.json?.model ?? '');
      if (o.noChannel?.includes(model) || !models.includes(model)) {
        relayError(res, o.kind, 503, `当前分组 default 下对于模型 ${model} 无可用渠道`, o.kind === 'new-api' ? 'model_not_found' : '');
        return;
      }
      if (o.quota && o.quota.remaining <= 0 && !o.quota.unlimited) {
        relayError(res, o.kind, 403, '用户额度不足', 'insufficient_user_quota');
        return;
      }
      sendJson(res, 200, completion('Red.', { model, finish_reason: 'length' }));
      return;
    }
    const quota = o.quota === undefined ? { remaining: 12.5, used: 2.5 } : o.quota;
    if (o.kind !== 'plain' && quota && req.method === 'GET') {
      const amount = quota.unlimited ? 100000000 : quota.remaining + quota.used;
      if (api('/dashboard/billing/subscription')) {
        if (needsToken()) return;
        sendJson(res, 200, {
          object: 'billing_subscription',
          has_payment_method: true,
          soft_limit_usd: amount,
          hard_limit_usd: amount,
          system_hard_limit_usd: amount,
          access_until: 0,
        });
        return;
      }
      if (api('/dashboard/billing/usage')) {
        if (needsToken()) return;
        sendJson(res, 200, { object: 'list', total_usage: quota.used * 100 });
        return;
      }
      if (o.kind === 'new-api' && path === `${prefix}/api/usage/token`) {
        if (!authorized) {
          sendJson(res, 200, { success: false, message: '令牌获取信息失败' });
          return;
        }
        // quota units: new-api's default QuotaPerUnit is 500 000 per USD
        const units = (usd: number) => Math.round(usd * 500000);
        sendJson(res, 200, {
          code: true,
          message: 'ok',
          data: {
            object: 'token_usage',
            name: 'default',
            total_granted: units(quota.remaining + quota.used),
            total_used: units(quota.used),
            total_available: units(quota.remaining),
            unlimited_quota: quota.unlimited === true,
            model_limits: {},
            model_limits_enabled: false,
            expires_at: 0,
          },
        });
        return;
      }
    }
    if (o.kind === 'plain' || !path.startsWith(prefix)) {
      // nginx in front of a prefix, or an API without a web UI
      relayError(res, 'plain', 404, `Invalid URL (${req.method} ${path})`);
      return;
    }
    webUi(res);
  };
}

export function startRelay(o: RelayOptions): Promise<TestServer> {
  return startServer(relayHandler(o));
}

/** startRelay for one test file: every relay it starts is closed once the file's tests are done. */
export function relayPool(): (o: RelayOptions) => Promise<TestServer> {
  const pool = serverPool();
  return (o) => pool(relayHandler(o));
}
