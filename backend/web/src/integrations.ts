// Hikvision terminals and iiko: form ↔ request and how states read.

import type { components } from './api/schema';

type Direction = components['schemas']['Direction'];

export interface TerminalForm {
  name: string;
  base_url: string;
  username: string;
  /** Write-only: empty on an edit keeps the stored one. */
  password: string;
  site_id: string;
  direction: Direction;
  poll_interval_s: number;
  enabled: boolean;
}

export function terminalFormToCreate(v: TerminalForm): components['schemas']['CreateTerminal'] {
  return { name: v.name.trim(), base_url: v.base_url.trim(), username: v.username.trim(), password: v.password, site_id: v.site_id, direction: v.direction, poll_interval_s: v.poll_interval_s, enabled: v.enabled };
}

/** An edit sends the password only when a new one was typed. */
export function terminalFormToUpdate(v: TerminalForm): components['schemas']['UpdateTerminal'] {
  const { password, ...rest } = terminalFormToCreate(v);
  return password ? { ...rest, password } : rest;
}

export function terminalColor(status: string): string {
  switch (status) {
    case 'ok':
      return 'green';
    case 'pending':
      return 'gray';
    case 'disabled':
      return 'gray';
    default:
      return 'red';
  }
}

type RunReport = components['schemas']['RunReport'];

/** One change or problem of an iiko run (`{"iiko_id", "kind", "detail"}`), read defensively. */
export interface RunChange {
  iiko_id: string;
  kind: string;
  detail: string;
}
export function runChanges(r: Pick<RunReport, 'changes'>): RunChange[] {
  return (r.changes as unknown[]).map((c) => {
    const o = (c && typeof c === 'object' ? c : {}) as Record<string, unknown>;
    const text = (v: unknown) => (v == null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    return { iiko_id: text(o.iiko_id), kind: text(o.kind), detail: text(o.detail) };
  });
}

/** Department codes typed as `A, B  C` → `['A', 'B', 'C']`. */
export function parseCodes(v: string): string[] {
  return v.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

/** A day range (`YYYY-MM-DD`, inclusive) as the RFC 3339 instants of its local midnights: `to` is the day after. */
export function dayRangeToInstants(from: string, to: string): { from: string; to: string } | null {
  const a = new Date(`${from}T00:00`);
  const b = new Date(`${to}T00:00`);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return null;
  b.setDate(b.getDate() + 1);
  return { from: a.toISOString(), to: b.toISOString() };
}

type TerminalTest = components['schemas']['TerminalTest'];

/**
 * What a terminal connection test shows: whether it passed, the i18n key of its outcome in plain
 * words, and the facts under it (what the terminal reported on success, the server's detail on a
 * failure; the round trip in ms is given separately, absent when the terminal was not called).
 */
export function terminalTestView(r: TerminalTest): { ok: boolean; key: string; facts: string; ms: number | null } {
  const facts = r.outcome === 'ok' ? [r.device_name, r.model, r.serial_number, r.firmware_version].filter(Boolean).join(' · ') : (r.detail ?? '');
  return { ok: r.outcome === 'ok', key: `terminals.testOutcome.${r.outcome}`, facts, ms: r.round_trip_ms ?? null };
}
