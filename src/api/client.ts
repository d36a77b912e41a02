/** A small typed client for `hoard serve` (used by the tests; usable by any Node program). */
import type { ApiError, GetBackupResponse, HealthResponse, ListBackupsResponse, ListQuery } from './contract.js';

export class ApiRequestError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: ApiError,
  ) {
    super(`${httpStatus} ${body.code}: ${body.message}`);
  }
}

export interface HoardClient {
  healthz(): Promise<HealthResponse>;
  listBackups(q?: ListQuery): Promise<ListBackupsResponse>;
  getBackup(id: string): Promise<GetBackupResponse>;
  status(): Promise<Record<string, unknown>>;
  openapi(): Promise<Record<string, unknown>>;
  metrics(): Promise<string>;
  /** Any request, for tests of errors: returns the status and the parsed body. */
  raw(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown; text: string; headers: Headers }>;
}

/** One exchange, for `onResponse` (logging, or checking responses against /openapi.json). */
export interface Exchange {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: unknown;
}

/** A client for `base` (e.g. http://127.0.0.1:7420) with an optional bearer token. */
export function createClient(
  base: string,
  token?: string,
  o: { onResponse?: (x: Exchange) => void } = {},
): HoardClient {
  const raw = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(new URL(path, base), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const contentType = r.headers.get('content-type') ?? '';
    const parsed: unknown = contentType.includes('json') ? JSON.parse(text) : text;
    o.onResponse?.({ method, path, status: r.status, contentType, body: parsed });
    return { status: r.status, body: parsed, text, headers: r.headers };
  };
  const json = async <T>(path: string): Promise<T> => {
    const r = await raw('GET', path);
    if (r.status >= 400) throw new ApiRequestError(r.status, r.body as ApiError);
    return r.body as T;
  };
  return {
    healthz: () => json('/healthz'),
    listBackups: (q = {}) =>
      json(
        `/backups?${new URLSearchParams(
          Object.entries(q)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, String(v)]),
        )}`,
      ),
    getBackup: (id) => json(`/backups/${encodeURIComponent(id)}`),
    status: () => json('/status'),
    openapi: () => json('/openapi.json'),
    metrics: async () => {
      const r = await raw('GET', '/metrics');
      if (r.status >= 400) throw new ApiRequestError(r.status, r.body as ApiError);
      return r.text;
    },
    raw,
  };
}
