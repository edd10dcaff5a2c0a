// Administrators' settings: the attendance policy form (offline delay shown in hours, the face
// threshold optional) and the background jobs' states.

import type { TFunction } from 'i18next';
import { z } from 'zod';
import type { components } from './api/schema';

type AttendancePolicy = components['schemas']['AttendancePolicy'];

export function policySchema(t: TFunction) {
  return z.object({
    liveness_mode: z.enum(['passive', 'passive+challenge']),
    // Empty: the model's calibrated threshold.
    face_threshold: z.string().trim().refine((s) => s === '' || (Number.isFinite(Number(s)) && Number(s) > 0 && Number(s) <= 2), t('settings.thresholdRange')),
    max_gps_accuracy_m: z.number({ error: t('validation.number') }).min(1, t('validation.min', { min: 1 })).max(10_000, t('validation.max', { max: 10_000 })),
    geofence_required: z.boolean(),
    max_offline_delay_h: z.number({ error: t('validation.number') }).min(1 / 60, t('settings.delayRange')).max(720, t('settings.delayRange')),
  });
}
export type PolicyForm = z.input<ReturnType<typeof policySchema>>;

export function policyToForm(p: AttendancePolicy): PolicyForm {
  return {
    liveness_mode: p.liveness_mode,
    face_threshold: p.face_threshold == null ? '' : String(p.face_threshold),
    max_gps_accuracy_m: p.max_gps_accuracy_m,
    geofence_required: p.geofence_required,
    max_offline_delay_h: Math.round((p.max_offline_delay_s / 3600) * 100) / 100,
  };
}

export function formToPolicy(f: PolicyForm): AttendancePolicy {
  return {
    liveness_mode: f.liveness_mode,
    face_threshold: f.face_threshold.trim() === '' ? null : Number(f.face_threshold),
    max_gps_accuracy_m: f.max_gps_accuracy_m,
    geofence_required: f.geofence_required,
    max_offline_delay_s: Math.round(f.max_offline_delay_h * 3600),
  };
}

export const JOB_STATES = ['dead', 'queued', 'running', 'done', 'discarded'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Only a dead job can be retried or discarded (the server answers `job_not_dead` otherwise). */
export function canRetry(state: string): boolean {
  return state === 'dead';
}

export function jobColor(state: string): string {
  return state === 'dead' ? 'red' : state === 'done' ? 'green' : state === 'discarded' ? 'gray' : 'blue';
}

type TrackingPolicy = components['schemas']['TrackingPolicy'];
type Weekday = components['schemas']['Weekday'];
const DAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * The default tracking policy form: on/off, how often, how accurate, and optionally the same
 * working hours on chosen weekdays (an end at or before the start runs past midnight).
 */
export function trackingSchema(t: TFunction) {
  return z
    .object({
      enabled: z.boolean(),
      interval_s: z.number({ error: t('validation.number') }).int(t('validation.whole')).min(5, t('validation.min', { min: 5 })).max(86_400, t('validation.max', { max: 86_400 })),
      max_accuracy_m: z.number({ error: t('validation.number') }).min(1, t('validation.min', { min: 1 })).max(10_000, t('validation.max', { max: 10_000 })),
      hours: z.boolean(),
      time_zone: z.string().trim(),
      start: z.string(),
      end: z.string(),
      days: z.array(z.boolean()).length(7),
    })
    .superRefine((v, ctx) => {
      if (!v.hours) return;
      if (!v.time_zone) ctx.addIssue({ code: 'custom', path: ['time_zone'], message: t('app.required') });
      if (!HHMM.test(v.start)) ctx.addIssue({ code: 'custom', path: ['start'], message: t('validation.time') });
      if (!HHMM.test(v.end)) ctx.addIssue({ code: 'custom', path: ['end'], message: t('validation.time') });
      if (!v.days.some(Boolean)) ctx.addIssue({ code: 'custom', path: ['days'], message: t('schedules.noWorkDays') });
    });
}
export type TrackingForm = z.input<ReturnType<typeof trackingSchema>>;

export function trackingToForm(p: TrackingPolicy): TrackingForm {
  const w = p.working_hours;
  const first = w?.windows[0];
  return {
    enabled: p.enabled,
    interval_s: p.interval_s ?? 300,
    max_accuracy_m: p.max_accuracy_m,
    hours: !!w,
    time_zone: w?.time_zone ?? 'UTC',
    start: first?.start.slice(0, 5) ?? '09:00',
    end: first?.end.slice(0, 5) ?? '18:00',
    days: DAYS.map((d) => (w ? w.windows.some((x) => x.weekday === d) : DAYS.indexOf(d) < 5)),
  };
}

export function formToTracking(f: TrackingForm): TrackingPolicy {
  return {
    enabled: f.enabled,
    interval_s: f.interval_s,
    max_accuracy_m: f.max_accuracy_m,
    working_hours: f.hours
      ? { time_zone: f.time_zone.trim(), windows: DAYS.filter((_, i) => f.days[i]).map((weekday) => ({ weekday, start: `${f.start}:00`, end: `${f.end}:00` })) }
      : null,
  };
}

/**
 * A tracking policy in one line, e.g. "On: a position every 60 s, accuracy 50 m; Mon, Tue
 * 09:00–18:00 (Europe/Moscow)", or "Off".
 */
export function trackingSummary(p: TrackingPolicy, t: TFunction): string {
  if (!p.enabled) return t('tracking.off');
  const on = t('tracking.on', { interval: p.interval_s ?? 300, accuracy: p.max_accuracy_m });
  const w = p.working_hours;
  if (!w || w.windows.length === 0) return `${on}; ${t('tracking.anyTime')}`;
  const first = w.windows[0];
  const days = DAYS.filter((d) => w.windows.some((x) => x.weekday === d))
    .map((d) => t(`weekdays.${d}`))
    .join(', ');
  return `${on}; ${days} ${first.start.slice(0, 5)}–${first.end.slice(0, 5)} (${w.time_zone})`;
}
