// Report downloads (Reports screen): every file is written by a background job on the server
// (`POST /api/v1/reports/downloads`), followed with its progress (`GET …/downloads/{id}`) and
// fetched when done (`GET …/downloads/{id}/file`), so a long report never hits a browser or
// proxy timeout. The choices offered, the request body of each, and the progress shown.

import { runActive, runPercent } from './reenrolment';

export type ReportKind = 'summary' | 'daily' | 't13';
export type FileFormat = 'csv' | 'xlsx';

export interface DownloadChoice {
  report: ReportKind;
  format: FileFormat;
}

/** What the screen offers, in order: the T-13 is XLSX only. */
export const DOWNLOAD_CHOICES: readonly DownloadChoice[] = [
  { report: 't13', format: 'xlsx' },
  { report: 'summary', format: 'xlsx' },
  { report: 'summary', format: 'csv' },
  { report: 'daily', format: 'xlsx' },
  { report: 'daily', format: 'csv' },
];

/** A stable key of a choice (also its i18n key under `reports.`). */
export function choiceKey(c: DownloadChoice): string {
  return c.report === 't13' ? 't13' : `${c.report}${c.format === 'xlsx' ? 'Xlsx' : 'Csv'}`;
}

/** `YYYY-MM` with a month 01–12, as the server's pattern. */
export function isMonth(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

/**
 * The filters of the Reports screen: a month or a from–to range of dates, and optionally one
 * department and one site (`''` = all). The on-screen summaries and the downloads use the same.
 */
export interface ReportFilter {
  period: 'month' | 'range';
  month: string;
  from: string;
  to: string;
  departmentId: string;
  siteId: string;
}

export function defaultFilter(month: string): ReportFilter {
  return { period: 'month', month, from: '', to: '', departmentId: '', siteId: '' };
}

/** `YYYY-MM-DD` as a real calendar date. */
export function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Why the period cannot be asked for yet (the field and an i18n key under `reports.`), or null. */
export function periodProblem(f: ReportFilter): { field: 'month' | 'from' | 'to'; key: 'badMonth' | 'badDate' | 'toBeforeFrom' } | null {
  if (f.period === 'month') return isMonth(f.month) ? null : { field: 'month', key: 'badMonth' };
  if (!isDate(f.from)) return { field: 'from', key: 'badDate' };
  if (!isDate(f.to)) return { field: 'to', key: 'badDate' };
  if (f.to < f.from) return { field: 'to', key: 'toBeforeFrom' };
  return null;
}

/** The query of `GET /api/v1/reports/summary` and `…/departments` (the `ReportQuery`) for the filters. */
export function reportQuery(f: ReportFilter): { month?: string; from?: string; to?: string; department_id?: string; site_id?: string } {
  const q: { month?: string; from?: string; to?: string; department_id?: string; site_id?: string } =
    f.period === 'month' ? { month: f.month } : { from: f.from, to: f.to };
  if (f.departmentId) q.department_id = f.departmentId;
  if (f.siteId) q.site_id = f.siteId;
  return q;
}

/** The T-13 is over a month only and takes no site (the server refuses both). */
export function choiceAllowed(c: DownloadChoice, f: ReportFilter): boolean {
  return c.report !== 't13' || f.period === 'month';
}

export interface DownloadBody {
  report: ReportKind;
  month?: string;
  from?: string;
  to?: string;
  department_id?: string;
  site_id?: string;
  format?: FileFormat;
  organisation?: string;
  okpo?: string;
  document_number?: string;
}

/** The header of the T-13 form as typed on the screen (`''` = left empty). */
export interface T13Header {
  organisation: string;
  okpo: string;
  documentNumber: string;
}

export const EMPTY_T13_HEADER: T13Header = { organisation: '', okpo: '', documentNumber: '' };

/** The server's limit of each T-13 header field, in characters. */
export const T13_HEADER_MAX = 200;

/** The first T-13 header field longer than the server takes, or null. */
export function t13HeaderProblem(h: T13Header): 'organisation' | 'okpo' | 'document_number' | null {
  const long = (v: string) => v.trim().length > T13_HEADER_MAX;
  if (long(h.organisation)) return 'organisation';
  if (long(h.okpo)) return 'okpo';
  if (long(h.documentNumber)) return 'document_number';
  return null;
}

/**
 * The body of `POST /api/v1/reports/downloads` for a choice over the filters (or a bare month):
 * the T-13 takes no format and no site, and carries the header fields that were filled in.
 */
export function downloadBody(c: DownloadChoice, filter: ReportFilter | string, header: T13Header = EMPTY_T13_HEADER): DownloadBody {
  const f = typeof filter === 'string' ? defaultFilter(filter) : filter;
  const q = reportQuery(f);
  if (c.report === 't13') {
    const body: DownloadBody = { report: 't13', ...q };
    delete body.site_id;
    const fields = [
      ['organisation', header.organisation],
      ['okpo', header.okpo],
      ['document_number', header.documentNumber],
    ] as const;
    for (const [key, value] of fields) {
      if (value.trim()) body[key] = value.trim();
    }
    return body;
  }
  return { report: c.report, ...q, format: c.format };
}

export interface DownloadProgress {
  state: string;
  employees_total: number;
  employees_done: number;
}

/** Still being written (the screen re-reads it). */
export function downloadActive(d: { state: string }): boolean {
  return runActive(d);
}

/** Percent of the employees read (0–100): a done download is 100, a queued one 0. */
export function downloadPercent(d: DownloadProgress): number {
  return runPercent(d);
}

/** Human size of a file: bytes, KB or MB with one decimal. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * A table's order: a column key and the direction. The server's `sort` parameter is the key,
 * with `-` before it for descending (`-worked`).
 */
export interface SortState<K extends string> {
  key: K;
  desc: boolean;
}

/** The `sort` parameter of an order. */
export function sortParam<K extends string>(s: SortState<K>): string {
  return s.desc ? `-${s.key}` : s.key;
}

/** The order after a click on a column's header: the same column turns round, another starts ascending. */
export function nextSort<K extends string>(s: SortState<K>, key: K): SortState<K> {
  return s.key === key ? { key, desc: !s.desc } : { key, desc: false };
}

/** The `aria-sort` of a column under an order. */
export function ariaSort<K extends string>(s: SortState<K>, key: K): 'ascending' | 'descending' | 'none' {
  if (s.key !== key) return 'none';
  return s.desc ? 'descending' : 'ascending';
}

/**
 * Rows sorted in the browser by `value` (texts by the language's collation, numbers by value,
 * empty last either way); equal rows keep their order.
 */
export function sortRows<R>(rows: readonly R[], value: (r: R) => string | number | null | undefined, desc: boolean, locale?: string): R[] {
  const dir = desc ? -1 : 1;
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => {
      const av = a.v;
      const bv = b.v;
      if (av == null || bv == null) return av == null && bv == null ? a.i - b.i : av == null ? 1 : -1;
      const c = typeof av === 'number' && typeof bv === 'number' ? av - bv : String(av).localeCompare(String(bv), locale);
      return c !== 0 ? c * dir : a.i - b.i;
    })
    .map((x) => x.r);
}

/** A download of the recent list, as the server lists it. */
export interface ListedDownload {
  id: string;
  state: string;
}

/** Whether the list of recent downloads should be re-read soon: one of them is still being written. */
export function anyActive(items: readonly ListedDownload[] | undefined): boolean {
  return (items ?? []).some(downloadActive);
}
