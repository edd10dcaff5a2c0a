// The browser session: the access token lives in this module's memory only (never in
// localStorage); the refresh token is an HttpOnly cookie the server scopes to
// /api/v1/auth/web, so a reload restores the session with one POST to /auth/web/refresh.

import { ApiError, toProblem } from '../problem';
import type { components } from '../api/schema';

export type WebSession = components['schemas']['WebSession'];
export type CurrentUser = components['schemas']['CurrentUser'];
type LoginRequest = components['schemas']['LoginRequest'];

/** Header the server requires on cookie-carried requests (CSRF protection). */
export const CSRF_HEADER = 'X-FaceID-CSRF';
const DEVICE_KEY = 'faceid.deviceId';

let current: WebSession | null = null;
let refreshing: Promise<WebSession | null> | null = null;
const listeners = new Set<(s: WebSession | null) => void>();

export function session(): WebSession | null {
  return current;
}

export function accessToken(): string | null {
  return current?.access_token ?? null;
}

export function subscribe(fn: (s: WebSession | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function set(s: WebSession | null) {
  current = s;
  for (const l of listeners) l(s);
}

/** The id this browser registers as a device (not a secret: the server binds sessions to it). */
export function deviceId(storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage): string {
  let id = storage.getItem(DEVICE_KEY);
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) {
    id = crypto.randomUUID();
    storage.setItem(DEVICE_KEY, id);
  }
  return id;
}

async function post(path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { [CSRF_HEADER]: '1' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function readSession(resp: Response): Promise<WebSession> {
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(toProblem(body, resp.status));
  return body as WebSession;
}

export async function login(loginName: string, password: string): Promise<WebSession> {
  const req: LoginRequest = {
    login: loginName,
    password,
    device: { id: deviceId(), name: browserName(), platform: 'web', app_version: 'web-panel' },
  };
  const s = await readSession(await post('/api/v1/auth/web/login', req));
  set(s);
  return s;
}

/**
 * Exchanges the refresh cookie for a new access token. Concurrent callers share one request:
 * refresh tokens work once, and a second use would end the whole session.
 */
export function refresh(): Promise<WebSession | null> {
  refreshing ??= (async () => {
    try {
      const resp = await post('/api/v1/auth/web/refresh');
      if (resp.status === 401 || resp.status === 403) {
        set(null);
        return null;
      }
      const s = await readSession(resp);
      set(s);
      return s;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout(): Promise<void> {
  try {
    await post('/api/v1/auth/web/logout');
  } finally {
    set(null);
  }
}

/** Updates the user after a change the server reports (e.g. the password was changed). */
export function updateUser(user: CurrentUser) {
  if (current) set({ ...current, user });
}

function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(ua);
  return (m ? m[0] : 'Browser').slice(0, 60);
}
