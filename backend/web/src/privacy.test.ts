import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import { correctionSchema, describeCorrection, localToIso, requestColor } from './privacy';

const t = ((k: string, o?: Record<string, unknown>) => (o ? `${k}:${JSON.stringify(o)}` : k)) as unknown as TFunction;
const base = { kind: 'punch' as const, event_id: '', punch_kind: 'in' as const, at: '', field: 'first_name' as const, value: '', comment: 'forgot' };

describe('correction form', () => {
  it('turns a missing punch into a request without an event', () => {
    const r = correctionSchema(t).safeParse({ ...base, at: '2026-12-01T09:05' });
    expect(r.success).toBe(true);
    expect(r.data).toEqual({ kind: 'punch', event_id: null, punch_kind: 'in', at: new Date('2026-12-01T09:05').toISOString(), comment: 'forgot' });
  });
  it('keeps the punch it replaces', () => {
    const r = correctionSchema(t).safeParse({ ...base, event_id: 'e1', punch_kind: 'out', at: '2026-12-01T18:00' });
    expect(r.data).toMatchObject({ event_id: 'e1', punch_kind: 'out' });
  });
  it('wants a time for a punch and a comment always', () => {
    const r = correctionSchema(t).safeParse({ ...base, comment: ' ' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path[0]).sort()).toEqual(['at', 'comment']);
  });
  it('sends a name correction without punch fields', () => {
    const r = correctionSchema(t).safeParse({ ...base, kind: 'field', field: 'last_name', value: ' Petrova ' });
    expect(r.data).toEqual({ kind: 'field', field: 'last_name', value: 'Petrova', comment: 'forgot' });
    expect(correctionSchema(t).safeParse({ ...base, kind: 'field', value: '' }).success).toBe(false);
  });
  it('reads a datetime-local value or refuses it', () => {
    expect(localToIso('')).toBeNull();
    expect(localToIso('yesterday')).toBeNull();
    expect(localToIso('2026-12-01T09:05')).toBe(new Date(2026, 11, 1, 9, 5).toISOString());
  });
});

describe('request lists', () => {
  const r = { id: '1', employee_id: 'e', employee_name: 'P I', kind: 'punch', punch_kind: 'out', at: '2026-12-01T18:00:00Z', comment: 'c', state: 'pending', created_at: '' };
  it('describes punch and name requests', () => {
    expect(describeCorrection(r, t, () => 'WHEN')).toBe('attendance.out WHEN (privacy.missing)');
    expect(describeCorrection({ ...r, event_id: 'x' }, t, () => 'WHEN')).toBe('attendance.out WHEN (privacy.replaces)');
    expect(describeCorrection({ ...r, kind: 'field', field: 'last_name', value: 'Petrova' }, t, () => '')).toBe('privacy.fields.last_name → Petrova');
  });
  it('colours states', () => {
    expect(requestColor('pending')).toBe('yellow');
    expect(requestColor('accepted')).toBe('green');
    expect(requestColor('refused')).toBe('red');
  });
});
