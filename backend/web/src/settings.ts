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
