import { describe, expect, it } from 'vitest';
import { DOWNLOAD_CHOICES, choiceKey, downloadActive, downloadBody, downloadPercent, fileSize, isMonth } from './reportDownloads';

describe('report downloads', () => {
  it('offers the T-13 as XLSX and the summary and daily detail in both formats', () => {
    expect(DOWNLOAD_CHOICES.map(choiceKey)).toEqual(['t13', 'summaryXlsx', 'summaryCsv', 'dailyXlsx', 'dailyCsv']);
  });
  it('asks for the month, and a format except for the T-13', () => {
    expect(downloadBody({ report: 't13', format: 'xlsx' }, '2026-03')).toEqual({ report: 't13', month: '2026-03' });
    expect(downloadBody({ report: 'daily', format: 'csv' }, '2026-03')).toEqual({ report: 'daily', month: '2026-03', format: 'csv' });
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
