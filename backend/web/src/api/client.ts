// The typed API client, generated from the server's own OpenAPI document (schema.d.ts): a field
// renamed in Rust breaks `tsc --noEmit` here. Every request carries the in-memory access token;
// a 401 triggers one refresh through the cookie and one retry.

import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { accessToken, refresh } from '../auth/session';
import { ApiError, toProblem } from '../problem';

const retried = new WeakSet<Request>();

const auth: Middleware = {
  async onRequest({ request }) {
    const token = accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || retried.has(request) || !accessToken()) return response;
    const s = await refresh();
    if (!s) return response;
    const again = new Request(request);
    again.headers.set('Authorization', `Bearer ${s.access_token}`);
    retried.add(again);
    return fetch(again);
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

/** Unwraps an openapi-fetch result: the data, or throws an ApiError with the problem. */
// The result type is openapi-fetch's union of success and error shapes; its `data` member is
// the success body (or undefined), so the body type is read from it rather than inferred.
export async function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  p: Promise<R>,
): Promise<NonNullable<R['data']>> {
  const { data, error, response } = await p;
  if (!response.ok) throw new ApiError(toProblem(error, response.status));
  return data as NonNullable<R['data']>;
}

/** A file download the browser saves: fetched with the token, then offered as a Blob. */
export async function download(path: string, fallbackName: string, opts: { waitWhile202?: { everyMs: number; attempts: number } } = {}): Promise<{ name: string; type: string; size: number }> {
  const go = () =>
    fetch(path, { headers: accessToken() ? { Authorization: `Bearer ${accessToken()}` } : {} });
  let resp = await go();
  if (resp.status === 401 && (await refresh())) resp = await go();
  // A file written in the background (an export) answers 202 until it is ready.
  for (let n = 0; resp.status === 202 && opts.waitWhile202 && n < opts.waitWhile202.attempts; n++) {
    await new Promise((r) => setTimeout(r, opts.waitWhile202!.everyMs));
    resp = await go();
    if (resp.status === 401 && (await refresh())) resp = await go();
  }
  if (resp.status === 202) throw new ApiError(toProblem({ title: 'still being prepared', status: 202, code: 'not_ready' }, 202));
  if (!resp.ok) throw new ApiError(toProblem(await resp.json().catch(() => null), resp.status));
  const blob = await resp.blob();
  const name = /filename="?([^";]+)"?/.exec(resp.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, type: blob.type, size: blob.size };
}
