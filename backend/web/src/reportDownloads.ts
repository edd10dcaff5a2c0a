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

/** The body of `POST /api/v1/reports/downloads` for a choice over a month (the T-13 takes no format). */
export function downloadBody(c: DownloadChoice, month: string): { report: ReportKind; month: string; format?: FileFormat } {
  return c.report === 't13' ? { report: 't13', month } : { report: c.report, month, format: c.format };
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
