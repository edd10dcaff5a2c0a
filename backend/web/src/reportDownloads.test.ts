import { describe, expect, it } from 'vitest';
import { DOWNLOAD_CHOICES, EMPTY_T13_HEADER, anyActive, ariaSort, choiceAllowed, choiceKey, defaultFilter, downloadActive, downloadBody, downloadPercent, fileSize, isDate, isMonth, nextSort, periodProblem, reportQuery, sortParam, sortRows, t13HeaderProblem } from './reportDownloads';

describe('report downloads', () => {
  it('offers the T-13 as XLSX and the summary and daily detail in both formats', () => {
    expect(DOWNLOAD_CHOICES.map(choiceKey)).toEqual(['t13', 'summaryXlsx', 'summaryCsv', 'dailyXlsx', 'dailyCsv']);
  });
  it('asks for the month, and a format except for the T-13', () => {
    expect(downloadBody({ report: 't13', format: 'xlsx' }, '2026-03')).toEqual({ report: 't13', month: '2026-03' });
    expect(downloadBody({ report: 'daily', format: 'csv' }, '2026-03')).toEqual({ report: 'daily', month: '2026-03', format: 'csv' });
  });
  it('asks for the same period, department and site as the screen shows', () => {
    const f = { ...defaultFilter('2026-03'), departmentId: 'd1', siteId: 's1' };
    expect(downloadBody({ report: 'summary', format: 'xlsx' }, f)).toEqual({ report: 'summary', month: '2026-03', department_id: 'd1', site_id: 's1', format: 'xlsx' });
    const range = { ...f, period: 'range' as const, from: '2026-03-05', to: '2026-04-04' };
    expect(downloadBody({ report: 'daily', format: 'csv' }, range)).toEqual({ report: 'daily', from: '2026-03-05', to: '2026-04-04', department_id: 'd1', site_id: 's1', format: 'csv' });
    // The T-13 takes a department but no site (the server refuses one) and only a month.
    expect(downloadBody({ report: 't13', format: 'xlsx' }, f)).toEqual({ report: 't13', month: '2026-03', department_id: 'd1' });
    expect(choiceAllowed({ report: 't13', format: 'xlsx' }, f)).toBe(true);
    expect(choiceAllowed({ report: 't13', format: 'xlsx' }, range)).toBe(false);
    expect(choiceAllowed({ report: 'summary', format: 'csv' }, range)).toBe(true);
  });
  it('builds the summary query from the filters, leaving out "all"', () => {
    expect(reportQuery(defaultFilter('2026-03'))).toEqual({ month: '2026-03' });
    expect(reportQuery({ ...defaultFilter('2026-03'), period: 'range', from: '2026-01-01', to: '2026-01-31', siteId: 's1' })).toEqual({ from: '2026-01-01', to: '2026-01-31', site_id: 's1' });
    expect(reportQuery({ ...defaultFilter('2026-03'), departmentId: 'd1' })).toEqual({ month: '2026-03', department_id: 'd1' });
  });
  it('checks the period before asking', () => {
    expect(periodProblem(defaultFilter('2026-03'))).toBeNull();
    expect(periodProblem(defaultFilter('2026-3'))).toEqual({ field: 'month', key: 'badMonth' });
    const range = { ...defaultFilter('2026-03'), period: 'range' as const, from: '2026-03-01', to: '2026-03-31' };
    expect(periodProblem(range)).toBeNull();
    expect(periodProblem({ ...range, from: '' })).toEqual({ field: 'from', key: 'badDate' });
    expect(periodProblem({ ...range, to: '2026-02-30' })).toEqual({ field: 'to', key: 'badDate' });
    expect(periodProblem({ ...range, to: '2026-02-28' })).toEqual({ field: 'to', key: 'toBeforeFrom' });
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('2026-13-01')).toBe(false);
  });
  it('takes a month as the server does', () => {
    expect(isMonth('2026-03')).toBe(true);
    expect(isMonth('2026-13')).toBe(false);
    expect(isMonth('2026-3')).toBe(false);
  });
  it('follows queued and running downloads, with the share of employees read', () => {
    expect(downloadActive({ state: 'queued' })).toBe(true);
    expect(downloadActive({ state: 'running' })).toBe(true);
    expect(downloadActive({ state: 'done' })).toBe(false);
    expect(downloadActive({ state: 'failed' })).toBe(false);
    expect(downloadPercent({ state: 'running', employees_total: 200, employees_done: 100 })).toBe(50);
    expect(downloadPercent({ state: 'done', employees_total: 0, employees_done: 0 })).toBe(100);
    expect(downloadPercent({ state: 'queued', employees_total: 0, employees_done: 0 })).toBe(0);
  });
  it('prints file sizes', () => {
    expect(fileSize(900)).toBe('900 B');
    expect(fileSize(2048)).toBe('2.0 KB');
    expect(fileSize(3 * 1024 * 1024)).toBe('3.0 MB');
  });
});

describe('client-side pages', () => {
  it('shows one page of a long list at a time', async () => {
    const { pageItems } = await import('./paging');
    const rows = Array.from({ length: 10_000 }, (_, i) => i);
    expect(pageItems(rows, 1, 50)).toEqual(rows.slice(0, 50));
    expect(pageItems(rows, 200, 50)).toEqual(rows.slice(9950));
    expect(pageItems(rows, 201, 50)).toEqual([]);
    expect(pageItems(rows, 0, 50)).toEqual(rows.slice(0, 50));
  });
  it('sorts on the server by a column, "-" first for descending, and turns round on a second click', () => {
    const s0 = { key: 'name' as const, desc: false };
    expect(sortParam(s0)).toBe('name');
    const s1 = nextSort<'name' | 'worked'>(s0, 'worked');
    expect(s1).toEqual({ key: 'worked', desc: false });
    const s2 = nextSort(s1, 'worked');
    expect(s2).toEqual({ key: 'worked', desc: true });
    expect(sortParam(s2)).toBe('-worked');
    expect(nextSort(s2, 'worked')).toEqual({ key: 'worked', desc: false });
    expect(nextSort(s2, 'name')).toEqual({ key: 'name', desc: false });
    expect(ariaSort(s2, 'worked')).toBe('descending');
    expect(ariaSort(s1, 'worked')).toBe('ascending');
    expect(ariaSort(s2, 'name')).toBe('none');
  });
  it('sorts the department summary in the browser: stable, numbers by value, names by collation, missing last', () => {
    const rows = [
      { d: 'Kitchen', n: 10 },
      { d: null, n: 2 },
      { d: 'bar', n: 10 },
      { d: 'Admin', n: 7 },
    ];
    expect(sortRows(rows, (r) => r.n, false).map((r) => r.d)).toEqual([null, 'Admin', 'Kitchen', 'bar']);
    // Equal numbers keep their order in either direction.
    expect(sortRows(rows, (r) => r.n, true).map((r) => r.d)).toEqual(['Kitchen', 'bar', 'Admin', null]);
    expect(sortRows(rows, (r) => r.d, false, 'en').map((r) => r.d)).toEqual(['Admin', 'bar', 'Kitchen', null]);
    expect(sortRows(rows, (r) => r.d, true, 'en').map((r) => r.d)).toEqual(['Kitchen', 'bar', 'Admin', null]);
    // The input is not changed.
    expect(rows[0].d).toBe('Kitchen');
  });
  it('re-reads the recent downloads only while one is being written', () => {
    expect(anyActive(undefined)).toBe(false);
    expect(anyActive([{ id: 'a', state: 'done' }, { id: 'b', state: 'expired' }, { id: 'c', state: 'failed' }])).toBe(false);
    expect(anyActive([{ id: 'a', state: 'done' }, { id: 'b', state: 'running' }])).toBe(true);
    expect(anyActive([{ id: 'a', state: 'queued' }])).toBe(true);
  });
  it('puts the T-13 header fields that were filled in into the T-13 body only', () => {
    const header = { organisation: '  Cafe LLC ', okpo: '', documentNumber: '7' };
    expect(downloadBody({ report: 't13', format: 'xlsx' }, '2026-03', header)).toEqual({ report: 't13', month: '2026-03', organisation: 'Cafe LLC', document_number: '7' });
    expect(downloadBody({ report: 'summary', format: 'csv' }, '2026-03', header)).toEqual({ report: 'summary', month: '2026-03', format: 'csv' });
    expect(downloadBody({ report: 't13', format: 'xlsx' }, '2026-03', EMPTY_T13_HEADER)).toEqual({ report: 't13', month: '2026-03' });
    expect(t13HeaderProblem(header)).toBeNull();
    expect(t13HeaderProblem({ ...header, okpo: 'x'.repeat(201) })).toBe('okpo');
    expect(t13HeaderProblem({ ...header, organisation: `${'x'.repeat(200)}  ` })).toBeNull();
  });
});
