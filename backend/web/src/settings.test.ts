import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import { canRetry, formToPolicy, formToTracking, policySchema, policyToForm, trackingSchema, trackingSummary, trackingToForm } from './settings';

const t = ((key: string) => key) as unknown as TFunction;
const policy = { liveness_mode: 'passive+challenge' as const, face_threshold: null, max_gps_accuracy_m: 100, geofence_required: true, max_offline_delay_s: 72 * 3600 };

describe('attendance policy form', () => {
  it('shows the offline delay in hours and an unset threshold as empty, and gives back the same policy', () => {
    const form = policyToForm(policy);
    expect(form.max_offline_delay_h).toBe(72);
    expect(form.face_threshold).toBe('');
    expect(formToPolicy(form)).toEqual(policy);
    expect(formToPolicy({ ...form, face_threshold: '0.45', max_offline_delay_h: 0.5 })).toMatchObject({ face_threshold: 0.45, max_offline_delay_s: 1800 });
  });
  it('keeps the server ranges: threshold in (0, 2], accuracy 1..10000 m, delay one minute to 30 days', () => {
    const ok = policyToForm(policy);
    expect(policySchema(t).safeParse(ok).success).toBe(true);
    const bad = policySchema(t).safeParse({ ...ok, face_threshold: '3', max_gps_accuracy_m: 0, max_offline_delay_h: 721 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path[0]).sort()).toEqual(['face_threshold', 'max_gps_accuracy_m', 'max_offline_delay_h']);
  });
});

describe('jobs', () => {
  it('only dead jobs are retried or discarded', () => {
    expect(canRetry('dead')).toBe(true);
    expect(canRetry('queued')).toBe(false);
    expect(canRetry('done')).toBe(false);
  });
});

describe('default tracking policy form', () => {
  const weekdays = { enabled: true, interval_s: 300, max_accuracy_m: 50, working_hours: { time_zone: 'Asia/Dushanbe', windows: (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((weekday) => ({ weekday, start: '09:00:00', end: '18:00:00' })) } };
  it('gives back the same policy, with or without working hours', () => {
    expect(formToTracking(trackingToForm(weekdays))).toEqual(weekdays);
    const always = { enabled: false, interval_s: 600, max_accuracy_m: 30, working_hours: null };
    expect(formToTracking(trackingToForm(always))).toEqual(always);
  });
  it('needs a zone, times and a weekday only when tracking keeps to working hours', () => {
    const form = trackingToForm(weekdays);
    expect(trackingSchema(t).safeParse(form).success).toBe(true);
    const bad = trackingSchema(t).safeParse({ ...form, time_zone: ' ', start: '9', days: Array(7).fill(false) });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.')).sort()).toEqual(['days', 'start', 'time_zone']);
    expect(trackingSchema(t).safeParse({ ...form, hours: false, time_zone: '', days: Array(7).fill(false) }).success).toBe(true);
    expect(trackingSchema(t).safeParse({ ...form, interval_s: 1 }).success).toBe(false);
  });
});

describe('tracking policy summary', () => {
  const tt = ((key: string, o?: Record<string, unknown>) => (o ? `${key}(${Object.values(o).join(',')})` : key)) as unknown as TFunction;
  it('says off, how often and how accurate, and the working hours with their zone', () => {
    expect(trackingSummary({ enabled: false, interval_s: 60, max_accuracy_m: 50, working_hours: null }, tt)).toBe('tracking.off');
    expect(trackingSummary({ enabled: true, interval_s: 60, max_accuracy_m: 50, working_hours: null }, tt)).toBe('tracking.on(60,50); tracking.anyTime');
    const hours = { time_zone: 'Asia/Dushanbe', windows: (['mon', 'fri'] as const).map((weekday) => ({ weekday, start: '09:00:00', end: '18:00:00' })) };
    expect(trackingSummary({ enabled: true, interval_s: 45, max_accuracy_m: 20, working_hours: hours }, tt)).toBe('tracking.on(45,20); weekdays.mon, weekdays.fri 09:00–18:00 (Asia/Dushanbe)');
  });
});
