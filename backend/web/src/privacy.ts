// Privacy requests: the employee's correction form and how requests read in lists.

import type { TFunction } from 'i18next';
import { z } from 'zod';
import type { components } from './api/schema';

type NewCorrectionRequest = components['schemas']['NewCorrectionRequest'];
type CorrectionRequest = components['schemas']['EmployeeCorrectionRequest'];
export type ErasureScope = components['schemas']['ErasureScope'];

export const ERASURE_SCOPES: readonly ErasureScope[] = ['biometrics', 'photos', 'locations', 'everything'];
/** The server's limits (`privacy::correction`). */
export const MAX_COMMENT = 2000;
export const MAX_VALUE = 200;

/** A `datetime-local` value (`2026-12-06T09:05`, the browser's zone) as an RFC 3339 instant. */
export function localToIso(v: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The correction form: a punch (`in` / `out` at a time, replacing one of my punches or adding a
 * missing one) or my first / last name; a comment for the operator either way.
 */
export function correctionSchema(t: TFunction) {
  return z
    .object({
      kind: z.enum(['punch', 'field']),
      event_id: z.string(),
      punch_kind: z.enum(['in', 'out']),
      at: z.string(),
      field: z.enum(['first_name', 'last_name']),
      value: z.string(),
      comment: z.string().trim().min(1, t('app.required')).max(MAX_COMMENT, t('validation.maxLength', { max: MAX_COMMENT })),
    })
    .superRefine((v, ctx) => {
      if (v.kind === 'punch' && !localToIso(v.at)) ctx.addIssue({ code: 'custom', path: ['at'], message: t('validation.date') });
      if (v.kind === 'field') {
        if (!v.value.trim()) ctx.addIssue({ code: 'custom', path: ['value'], message: t('app.required') });
        else if (v.value.trim().length > MAX_VALUE) ctx.addIssue({ code: 'custom', path: ['value'], message: t('validation.maxLength', { max: MAX_VALUE }) });
      }
    })
    .transform((v): NewCorrectionRequest =>
      v.kind === 'punch'
        ? { kind: 'punch', event_id: v.event_id || null, punch_kind: v.punch_kind, at: localToIso(v.at), comment: v.comment.trim() }
        : { kind: 'field', field: v.field, value: v.value.trim(), comment: v.comment.trim() },
    );
}
export type CorrectionForm = z.input<ReturnType<typeof correctionSchema>>;

/** What a correction request asks for, in words: `In at …` or `First name → Ivan`. */
export function describeCorrection(r: CorrectionRequest, t: TFunction, when: (iso: string) => string): string {
  if (r.kind === 'punch') {
    const kind = r.punch_kind === 'out' ? t('attendance.out') : t('attendance.in');
    const base = `${kind} ${r.at ? when(r.at) : ''}`.trim();
    return r.event_id ? `${base} (${t('privacy.replaces')})` : `${base} (${t('privacy.missing')})`;
  }
  return `${t(`privacy.fields.${r.field === 'last_name' ? 'last_name' : 'first_name'}`)} → ${r.value ?? ''}`;
}

/** Badge colour of a request's state. */
export function requestColor(state: string): string {
  switch (state) {
    case 'pending':
      return 'yellow';
    case 'approved':
      return 'blue';
    case 'accepted':
    case 'done':
      return 'green';
    default:
      return 'red';
  }
}
