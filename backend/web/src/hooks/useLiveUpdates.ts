import { useEffect, useState } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { accessToken, refresh } from '../auth/session';
import { parseSse } from '../live';

/** How long to wait before reopening a closed or failed stream. */
const RETRY_MS = 5000;

/**
 * Keeps `queryKey` fresh from a server-sent event stream at `path`: each `attendance` event
 * invalidates it. Answers whether the stream is open (`live`); while it is not, the caller's
 * polling is what keeps the page fresh.
 */
export function useLiveUpdates(path: string, queryKey: QueryKey): boolean {
  const qc = useQueryClient();
  const [live, setLive] = useState(false);
  const key = JSON.stringify(queryKey);
  useEffect(() => {
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = async (retried = false): Promise<void> => {
      try {
        const resp = await fetch(path, { headers: { Authorization: `Bearer ${accessToken() ?? ''}`, Accept: 'text/event-stream' }, signal: stop.signal });
        if (resp.status === 401 && !retried && (await refresh())) return open(true);
        if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            if (e === 'ready') setLive(true);
            if (e === 'attendance') void qc.invalidateQueries({ queryKey: JSON.parse(key) as QueryKey });
          }
        }
      } catch {
        // Aborted on unmount, or the stream failed: polling carries on until it reopens.
      }
      setLive(false);
      if (!stop.signal.aborted) timer = setTimeout(() => void open(), RETRY_MS);
    };
    void open();
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [path, key, qc]);
  return live;
}
