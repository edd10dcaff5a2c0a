import { describe, expect, it } from 'vitest';
import { rememberedRun, rememberRun, runActive, runPercent } from './reenrolment';

const store = () => {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
};

describe('re-enrolment runs', () => {
  it('follows queued and running runs only', () => {
    expect(runActive({ state: 'queued' })).toBe(true);
    expect(runActive({ state: 'running' })).toBe(true);
    expect(runActive({ state: 'done' })).toBe(false);
    expect(runActive({ state: 'failed' })).toBe(false);
  });
  it('shows the share of employees handled', () => {
    expect(runPercent({ state: 'queued', employees_total: 0, employees_done: 0 })).toBe(0);
    expect(runPercent({ state: 'running', employees_total: 3, employees_done: 1 })).toBe(33);
    expect(runPercent({ state: 'done', employees_total: 0, employees_done: 0 })).toBe(100);
    expect(runPercent({ state: 'running', employees_total: 2, employees_done: 5 })).toBe(100);
  });
  it('remembers the last run by id, and nothing else', () => {
    const s = store();
    expect(rememberedRun(s)).toBeNull();
    rememberRun('0193a5b2-7c1e-7d2f-8a3b-4c5d6e7f8091', s);
    expect(rememberedRun(s)).toBe('0193a5b2-7c1e-7d2f-8a3b-4c5d6e7f8091');
    s.setItem('faceid.reenrolment', 'javascript:alert(1)');
    expect(rememberedRun(s)).toBeNull();
    rememberRun(null, s);
    expect(rememberedRun(s)).toBeNull();
  });
});
