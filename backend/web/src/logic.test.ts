import { describe, expect, it } from 'vitest';
import { canManage, homeFor, navFor } from './roles';
import { pageCount, pageOffset } from './paging';
import { currentState } from './consent';
import { initialLanguage } from './i18n';
import { en, ru, tg } from './i18n/resources';
import { currentMonth, formatDateTime, isoDay } from './dates';
import { TODAY_LISTS, todayCount, todayPeople } from './today';

describe('roles', () => {
  it('employees see self-service only; operators and admins manage; only admins publish consent texts', () => {
    const user = navFor('user').map((i) => i.to);
    expect(user).not.toContain('/employees');
    expect(user).toContain('/me/consents');
    expect(navFor('operator').map((i) => i.to)).toContain('/employees');
    expect(navFor('operator').map((i) => i.to)).not.toContain('/consent-texts');
    expect(navFor('admin').map((i) => i.to)).toContain('/consent-texts');
    expect(canManage('user')).toBe(false);
    expect(homeFor('user')).toBe('/me/consents');
    // An account that must change its password sees only that screen.
    expect(navFor('admin', true).map((i) => i.to)).toEqual(['/me/password']);
  });
});

describe('paging', () => {
  it('maps pages to offsets and totals to page counts', () => {
    expect(pageOffset(1, 50)).toBe(0);
    expect(pageOffset(3, 50)).toBe(100);
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(101, 50)).toBe(3);
  });
});

describe('consent state', () => {
  it('the latest record of a kind decides', () => {
    const r = [
      { kind: 'biometric', action: 'grant', text_version: 1, at: '2026-01-01T00:00:00Z', method: 'app' },
      { kind: 'biometric', action: 'withdraw', text_version: 1, at: '2026-02-01T00:00:00Z', method: 'app' },
      { kind: 'location', action: 'grant', text_version: 2, at: '2026-01-05T00:00:00Z', method: 'paper' },
    ] as const;
    expect(currentState([...r], 'biometric')).toBe('withdrawn');
    expect(currentState([...r], 'location')).toBe('granted');
    expect(currentState([...r], 'telegram')).toBe('notGiven');
  });
});

describe('languages', () => {
  it('remembered choice first, then the browser, then Russian', () => {
    expect(initialLanguage('tg', ['en-US'])).toBe('tg');
    expect(initialLanguage(null, ['de-DE', 'en-GB'])).toBe('en');
    expect(initialLanguage('xx', ['de'])).toBe('ru');
  });
  it('every language has every string, none empty', () => {
    const keys = (o: object, p = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${p}${k}`] : keys(v as object, `${p}${k}.`)));
    const get = (o: object, k: string) => k.split('.').reduce<unknown>((a, s) => (a as Record<string, unknown>)[s], o);
    for (const lang of [ru, tg]) {
      for (const k of keys(en)) expect(String(get(lang, k)).length, k).toBeGreaterThan(0);
    }
  });
});

describe('dates', () => {
  it('formats the current month', () => {
    expect(currentMonth(new Date(2026, 0, 31))).toBe('2026-01');
  });
});

describe('today view', () => {
  const group = {
    id: null,
    name: null,
    employees: 4,
    in_now: [{ employee_id: 'b', name: 'Rahimov Bahrom' }, { employee_id: 'a', name: 'Aliev Anvar' }],
    late: [{ employee_id: 'c', name: 'Karimova Dilnoza', minutes: 17 }],
    missing: [],
    not_checked_out: [],
    on_leave: [{ employee_id: 'd', name: 'Nazarov Farrukh', kind: 'sick_leave' }],
    pending_review: [],
  };
  it('counts each list and names the people behind a number, sorted, with minutes late or the kind of leave', () => {
    expect(TODAY_LISTS.map((l) => todayCount(group, l))).toEqual([2, 1, 0, 0, 1, 0]);
    expect(todayPeople(group, 'in_now').map((p) => p.name)).toEqual(['Aliev Anvar', 'Rahimov Bahrom']);
    expect(todayPeople(group, 'late')[0]?.detail).toEqual({ kind: 'late', value: 17 });
    expect(todayPeople(group, 'on_leave')[0]?.detail).toEqual({ kind: 'leave', value: 'sick_leave' });
  });
});

describe('dates', () => {
  it('shows an instant in the given zone with the zone named', () => {
    const s = formatDateTime('2026-03-02T04:30:00Z', 'Asia/Dushanbe', 'en');
    expect(s).toContain('9:30');
    expect(s).toMatch(/GMT\+5|UTC\+5/);
    expect(formatDateTime('not a date')).toBe('not a date');
    expect(isoDay(new Date(2026, 0, 5))).toBe('2026-01-05');
  });
});

describe('navigation', () => {
  it('managers start on the today view; devices, departments and the audit log are for administrators', () => {
    expect(homeFor('operator')).toBe('/today');
    const operator = navFor('operator').map((i) => i.to);
    expect(operator).toContain('/attendance');
    expect(operator).not.toContain('/devices');
    expect(operator).not.toContain('/audit');
    expect(navFor('admin').map((i) => i.to)).toEqual(expect.arrayContaining(['/devices', '/organisation', '/audit', '/settings', '/jobs']));
    // Operators assign schedules and absences in their scope; settings and jobs are the administrators'.
    expect(operator).toContain('/schedules');
    expect(operator).not.toContain('/settings');
    expect(operator).not.toContain('/jobs');
    expect(navFor('user').map((i) => i.to)).not.toContain('/schedules');
  });
});
