// Face re-enrolment runs (Settings → Face re-enrolment): progress of a run and the run the
// screen follows across reloads (the server lists no runs, so the last one started here is
// remembered by id).

export type RunState = 'queued' | 'running' | 'done' | 'failed';

export interface RunProgress {
  state: string;
  employees_total: number;
  employees_done: number;
}

/** A run still to be followed (its page re-reads it). */
export function runActive(run: { state: string }): boolean {
  return run.state === 'queued' || run.state === 'running';
}

/** Percent of the run's employees handled (0–100); a finished run is 100, a queued one 0. */
export function runPercent(run: RunProgress): number {
  if (run.state === 'done') return 100;
  if (run.employees_total <= 0) return 0;
  return Math.min(100, Math.round((100 * run.employees_done) / run.employees_total));
}

const KEY = 'faceid.reenrolment';

/** The id of the last run started from this browser, if any. */
export function rememberedRun(storage: Pick<Storage, 'getItem'> = localStorage): string | null {
  const id = storage.getItem(KEY);
  return id && /^[0-9a-f-]{36}$/i.test(id) ? id : null;
}

export function rememberRun(id: string | null, storage: Pick<Storage, 'setItem' | 'removeItem'> = localStorage): void {
  if (id) storage.setItem(KEY, id);
  else storage.removeItem(KEY);
}
