import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import {
  absenceSchema, assignmentSchema, crossesMidnight, daysInclusive, describePattern, holidaySchema, patternOf, rosterDates, scheduleSchema, shiftMinutes, shiftTime, templateSchema,
  type ScheduleForm,
} from './schedules';
import { issuesByField } from './useApiForm';

// Keys as messages, with their options appended, so tests see which rule spoke.
const t = ((key: string, o?: Record<string, unknown>) => (o ? `${key}${JSON.stringify(o)}` : key)) as unknown as TFunction;
const errorsOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string; code: string }[] } }) =>
  r.success ? {} : Object.fromEntries(Object.entries(issuesByField(r.error!.issues)).map(([k, v]) => [k, v.message]));

const template = { name: 'Night', start: '22:00', end: '06:00', unpaid_break_minutes: 30, late_grace_minutes: 5, early_leave_grace_minutes: 5, checkin_window_minutes: 60, site_id: '' };

describe('shift templates', () => {
  it('a shift that ends before it starts crosses midnight and is paid over it', () => {
    expect(crossesMidnight('22:00', '06:00')).toBe(true);
    expect(crossesMidnight('08:00', '17:00')).toBe(false);
    expect(shiftMinutes('22:00', '06:00', 30)).toBe(450);
    expect(shiftMinutes('08:00', '17:00', 60)).toBe(480);
    expect(shiftTime({ start: '22:00', end: '06:00' })).toBe('22:00–06:00 (+1)');
  });
  it('refuses a zero-length shift on its end, a break as long as the shift, a bad time and a missing name', () => {
    expect(templateSchema(t).safeParse(template).success).toBe(true);
    expect(errorsOf(templateSchema(t).safeParse({ ...template, end: '22:00' }))).toEqual({ end: 'schedules.zeroLength' });
    expect(errorsOf(templateSchema(t).safeParse({ ...template, unpaid_break_minutes: 480 }))).toEqual({ unpaid_break_minutes: 'schedules.breakTooLong' });
    expect(errorsOf(templateSchema(t).safeParse({ ...template, start: '25:00', name: ' ' }))).toEqual({ start: 'validation.time', name: 'app.required' });
    expect(errorsOf(templateSchema(t).safeParse({ ...template, late_grace_minutes: Number.NaN }))).toHaveProperty('late_grace_minutes');
  });
});

const schedule: ScheduleForm = {
  name: 'Office', kind: 'weekly', week: ['a', 'a', 'a', 'a', 'a', '', ''], anchor: '2026-12-07', cycle: ['a', 'b', '', ''],
  work_days: [true, true, true, true, true, false, false], minutes_per_day: 480, roster_from: '2026-12-30', roster: ['n', '', 'a'],
};

describe('schedules', () => {
  it('builds the stored pattern of each kind, days off as null', () => {
    expect(patternOf(schedule)).toEqual({ kind: 'weekly', days: ['a', 'a', 'a', 'a', 'a', null, null] });
    expect(patternOf({ ...schedule, kind: 'rotating' })).toEqual({ kind: 'rotating', anchor: '2026-12-07', cycle: ['a', 'b', null, null] });
    expect(patternOf({ ...schedule, kind: 'roster' })).toEqual({ kind: 'roster', days: { '2026-12-30': 'n', '2027-01-01': 'a' } });
    expect(patternOf({ ...schedule, kind: 'flexible' })).toEqual({ kind: 'flexible', minutes_per_day: 480, minutes_per_week: null, work_days: schedule.work_days });
  });
  it('refuses a week without shifts, a one-day cycle and a flexible schedule without work days', () => {
    expect(scheduleSchema(t).safeParse(schedule).success).toBe(true);
    expect(errorsOf(scheduleSchema(t).safeParse({ ...schedule, week: Array(7).fill('') }))).toEqual({ week: 'schedules.noShifts' });
    expect(errorsOf(scheduleSchema(t).safeParse({ ...schedule, kind: 'rotating', cycle: ['a'] }))).toHaveProperty('cycle');
    expect(errorsOf(scheduleSchema(t).safeParse({ ...schedule, kind: 'roster', roster: ['', ''] }))).toEqual({ roster: 'schedules.noShifts' });
    expect(errorsOf(scheduleSchema(t).safeParse({ ...schedule, kind: 'roster', roster_from: 'soon' }))).toEqual({ roster_from: 'validation.date' });
    expect(errorsOf(scheduleSchema(t).safeParse({ ...schedule, kind: 'flexible', work_days: Array(7).fill(false) }))).toEqual({ work_days: 'schedules.noWorkDays' });
  });
  it('describes a pattern with template times, overnight shifts on the day they start', () => {
    const templates = new Map([['n', { id: 'n', name: 'Night', start: '22:00', end: '06:00' } as never]]);
    expect(describePattern({ kind: 'weekly', days: ['n', null, null, null, null, null, null] }, templates, t)).toBe(
      'weekdays.mon Night 22:00–06:00 (+1), weekdays.tue schedules.off, weekdays.wed schedules.off, weekdays.thu schedules.off, weekdays.fri schedules.off, weekdays.sat schedules.off, weekdays.sun schedules.off',
    );
    expect(describePattern({ kind: 'roster', days: { '2027-01-01': 'n', '2026-12-31': 'n' } }, templates, t)).toBe(
      'schedules.rosterDays{"count":2}: 2026-12-31 Night 22:00–06:00 (+1), 2027-01-01 Night 22:00–06:00 (+1)',
    );
  });
  it('lays out roster dates over a month and a year end', () => {
    expect(rosterDates('2026-12-30', 3)).toEqual(['2026-12-30', '2026-12-31', '2027-01-01']);
    expect(rosterDates('', 3)).toEqual([]);
  });
});

describe('assignments, absences and holidays', () => {
  const assignment = { schedule_id: 's', target: 'employee' as const, employee_id: 'e', department_id: '', valid_from: '2026-12-01', valid_to: '' };
  it('needs the chosen target and an end not before the start', () => {
    expect(assignmentSchema(t).safeParse(assignment).success).toBe(true);
    expect(errorsOf(assignmentSchema(t).safeParse({ ...assignment, target: 'department' }))).toEqual({ department_id: 'app.required' });
    expect(errorsOf(assignmentSchema(t).safeParse({ ...assignment, valid_to: '2026-11-30' }))).toEqual({ valid_to: 'validation.endBeforeStart' });
  });
  it('keeps an absence within 366 days and in order', () => {
    const absence = { employee_id: 'e', kind: 'sick_leave' as const, from: '2026-01-01', to: '2026-01-05', note: '' };
    expect(daysInclusive('2026-01-01', '2026-01-05')).toBe(5);
    expect(absenceSchema(t).safeParse(absence).success).toBe(true);
    expect(errorsOf(absenceSchema(t).safeParse({ ...absence, to: '2027-01-02' }))).toEqual({ to: 'schedules.absenceTooLong{"max":366}' });
    expect(errorsOf(absenceSchema(t).safeParse({ ...absence, to: '2025-12-31' }))).toEqual({ to: 'validation.endBeforeStart' });
  });
  it('a worked holiday names the weekday it is worked as', () => {
    expect(holidaySchema(t).safeParse({ date: '2026-03-21', kind: 'holiday', name: 'Navruz', working_as: '' }).success).toBe(true);
    expect(errorsOf(holidaySchema(t).safeParse({ date: '2026-03-21', kind: 'working', name: '', working_as: '' }))).toEqual({ working_as: 'app.required' });
  });
});
