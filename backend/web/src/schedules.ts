// Shift templates, schedules, assignments, holidays and absences: the forms' rules (zod, with
// messages in the panel's language) and how patterns are built and shown.

import type { TFunction } from 'i18next';
import { z } from 'zod';
import type { components } from './api/schema';

type ScheduleDef = components['schemas']['ScheduleDef'];
type ShiftTemplate = components['schemas']['ShiftTemplateOut'];
type T = TFunction;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const ABSENCE_KINDS = ['annual_leave', 'sick_leave', 'business_trip', 'unpaid_leave'] as const;
export const HOLIDAY_KINDS = ['holiday', 'non_working', 'working'] as const;
/** The longest absence the server accepts, in days (`timesheet::calendar::MAX_ABSENCE_DAYS`). */
export const MAX_ABSENCE_DAYS = 366;
/** The longest rotation the form offers. */
export const MAX_CYCLE = 28;
/** The most dates the roster form lays out at once (the server takes up to 1,000). */
export const MAX_ROSTER_FORM_DAYS = 62;
/** How many dates a roster's one-line description lists before `+N more`. */
const ROSTER_SHOWN = 7;

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Minutes after midnight of `HH:MM`. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

/** A shift whose end is earlier than its start ends the next day (shown on the day it starts). */
export function crossesMidnight(start: string, end: string): boolean {
  return minutesOf(end) < minutesOf(start);
}

/** Paid minutes of a shift: its length (over midnight if need be) less the unpaid break. */
export function shiftMinutes(start: string, end: string, unpaidBreak = 0): number {
  const length = (minutesOf(end) - minutesOf(start) + 24 * 60) % (24 * 60);
  return Math.max(0, length - unpaidBreak);
}

/** `8 h 30 min`-style duration. */
export function formatMinutes(total: number, t: T): string {
  const h = Math.floor(total / 60);
  const m = total % 60;
  return m === 0 ? t('schedules.hours', { h }) : t('schedules.hoursMinutes', { h, m });
}

/** Days between two `YYYY-MM-DD` dates, both included. */
export function daysInclusive(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

const minutes = (t: T, max: number) => z.number({ error: t('validation.number') }).int(t('validation.whole')).min(0, t('validation.min', { min: 0 })).max(max, t('validation.max', { max }));

export function templateSchema(t: T) {
  return z
    .object({
      name: z.string().trim().min(1, t('app.required')).max(100, t('validation.maxLength', { max: 100 })),
      start: z.string().regex(TIME, t('validation.time')),
      end: z.string().regex(TIME, t('validation.time')),
      unpaid_break_minutes: minutes(t, 720),
      late_grace_minutes: minutes(t, 240),
      early_leave_grace_minutes: minutes(t, 240),
      checkin_window_minutes: minutes(t, 720),
      site_id: z.string(),
    })
    .refine((v) => !TIME.test(v.start) || !TIME.test(v.end) || v.start !== v.end, { path: ['end'], message: t('schedules.zeroLength') })
    .refine((v) => !TIME.test(v.start) || !TIME.test(v.end) || v.start === v.end || v.unpaid_break_minutes < shiftMinutes(v.start, v.end), {
      path: ['unpaid_break_minutes'],
      message: t('schedules.breakTooLong'),
    });
}
export type TemplateForm = z.input<ReturnType<typeof templateSchema>>;

export type PatternKind = 'weekly' | 'rotating' | 'roster' | 'flexible';

/** `n` consecutive `YYYY-MM-DD` dates from `from` (none when `from` is not a date). */
export function rosterDates(from: string, n: number): string[] {
  if (!DAY.test(from)) return [];
  const start = Date.parse(`${from}T00:00:00Z`);
  if (Number.isNaN(start)) return [];
  return Array.from({ length: Math.max(0, n) }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

/** The schedule form: one template id (or '' for a day off) per weekday or per cycle day. */
export function scheduleSchema(t: T) {
  return z
    .object({
      name: z.string().trim().min(1, t('app.required')).max(100, t('validation.maxLength', { max: 100 })),
      kind: z.enum(['weekly', 'rotating', 'roster', 'flexible']),
      week: z.array(z.string()).length(7),
      anchor: z.string(),
      cycle: z.array(z.string()),
      work_days: z.array(z.boolean()).length(7),
      minutes_per_day: z.number().or(z.nan()),
      roster_from: z.string(),
      roster: z.array(z.string()),
    })
    .superRefine((v, ctx) => {
      if (v.kind === 'weekly' && v.week.every((d) => d === '')) ctx.addIssue({ code: 'custom', path: ['week'], message: t('schedules.noShifts') });
      if (v.kind === 'rotating') {
        if (!DAY.test(v.anchor)) ctx.addIssue({ code: 'custom', path: ['anchor'], message: t('validation.date') });
        if (v.cycle.length < 2 || v.cycle.length > MAX_CYCLE) ctx.addIssue({ code: 'custom', path: ['cycle'], message: t('schedules.cycleLength', { max: MAX_CYCLE }) });
        else if (v.cycle.every((d) => d === '')) ctx.addIssue({ code: 'custom', path: ['cycle'], message: t('schedules.noShifts') });
      }
      if (v.kind === 'roster') {
        if (!DAY.test(v.roster_from)) ctx.addIssue({ code: 'custom', path: ['roster_from'], message: t('validation.date') });
        else if (v.roster.length < 1 || v.roster.length > MAX_ROSTER_FORM_DAYS) ctx.addIssue({ code: 'custom', path: ['roster'], message: t('validation.range', { min: 1, max: MAX_ROSTER_FORM_DAYS }) });
        else if (v.roster.every((d) => d === '')) ctx.addIssue({ code: 'custom', path: ['roster'], message: t('schedules.noShifts') });
      }
      if (v.kind === 'flexible') {
        if (!Number.isInteger(v.minutes_per_day) || v.minutes_per_day < 1 || v.minutes_per_day > 24 * 60)
          ctx.addIssue({ code: 'custom', path: ['minutes_per_day'], message: t('validation.range', { min: 1, max: 24 * 60 }) });
        if (!v.work_days.some(Boolean)) ctx.addIssue({ code: 'custom', path: ['work_days'], message: t('schedules.noWorkDays') });
      }
    });
}
export type ScheduleForm = z.input<ReturnType<typeof scheduleSchema>>;

/** What the server stores for the form's choice (`''` is a day off). */
export function patternOf(v: ScheduleForm): ScheduleDef {
  const shift = (id: string) => (id === '' ? null : id);
  switch (v.kind) {
    case 'weekly':
      return { kind: 'weekly', days: v.week.map(shift) };
    case 'rotating':
      return { kind: 'rotating', anchor: v.anchor, cycle: v.cycle.map(shift) };
    case 'roster': {
      const dates = rosterDates(v.roster_from, v.roster.length);
      return { kind: 'roster', days: Object.fromEntries(dates.flatMap((d, i) => (v.roster[i] ? [[d, v.roster[i]]] : []))) };
    }
    case 'flexible':
      return { kind: 'flexible', minutes_per_day: v.minutes_per_day, minutes_per_week: null, work_days: v.work_days };
  }
}

/** A schedule in one line: `Mon 08:00–17:00, …, Sun off` (a shift over midnight marked `+1`). */
export function describePattern(p: ScheduleDef, templates: ReadonlyMap<string, ShiftTemplate>, t: T): string {
  const shift = (id: string | null) => {
    if (id === null) return t('schedules.off');
    const tpl = templates.get(id);
    return tpl ? `${tpl.name} ${shiftTime(tpl)}` : '?';
  };
  switch (p.kind) {
    case 'weekly':
      return p.days.map((d, i) => `${t(`weekdays.${WEEKDAYS[i]}`)} ${shift(d)}`).join(', ');
    case 'rotating':
      return `${t('schedules.from', { date: p.anchor })}: ${p.cycle.map((d, i) => `${i + 1}. ${shift(d)}`).join(', ')}`;
    case 'roster': {
      // Each date with its shift: a shift over midnight stands on the date it starts, marked `+1`.
      const dates = Object.keys(p.days).sort();
      const listed = dates.slice(0, ROSTER_SHOWN).map((d) => `${d} ${shift(p.days[d])}`);
      const more = dates.length > ROSTER_SHOWN ? [t('schedules.moreDates', { count: dates.length - ROSTER_SHOWN })] : [];
      return `${t('schedules.rosterDays', { count: dates.length })}: ${[...listed, ...more].join(', ')}`;
    }
    case 'flexible': {
      const days = WEEKDAYS.filter((_, i) => p.work_days[i]).map((d) => t(`weekdays.${d}`)).join(', ');
      const per = p.minutes_per_day != null ? formatMinutes(p.minutes_per_day, t) : p.minutes_per_week != null ? `${formatMinutes(p.minutes_per_week, t)} / ${t('schedules.week')}` : '';
      return `${per} · ${days}`;
    }
  }
}

/** `08:00–17:00`, with `+1` when the shift ends the next day. */
export function shiftTime(tpl: Pick<ShiftTemplate, 'start' | 'end'>): string {
  return `${tpl.start}–${tpl.end}${crossesMidnight(tpl.start, tpl.end) ? ' (+1)' : ''}`;
}

export function assignmentSchema(t: T) {
  return z
    .object({
      schedule_id: z.string().min(1, t('app.required')),
      target: z.enum(['employee', 'department']),
      employee_id: z.string(),
      department_id: z.string(),
      valid_from: z.string().regex(DAY, t('validation.date')),
      valid_to: z.string().refine((s) => s === '' || DAY.test(s), t('validation.date')),
    })
    .superRefine((v, ctx) => {
      if (v.target === 'employee' && !v.employee_id) ctx.addIssue({ code: 'custom', path: ['employee_id'], message: t('app.required') });
      if (v.target === 'department' && !v.department_id) ctx.addIssue({ code: 'custom', path: ['department_id'], message: t('app.required') });
      if (v.valid_to !== '' && DAY.test(v.valid_from) && v.valid_to < v.valid_from) ctx.addIssue({ code: 'custom', path: ['valid_to'], message: t('validation.endBeforeStart') });
    });
}
export type AssignmentForm = z.input<ReturnType<typeof assignmentSchema>>;

export function absenceSchema(t: T) {
  return z
    .object({
      employee_id: z.string().min(1, t('app.required')),
      kind: z.enum(ABSENCE_KINDS),
      from: z.string().regex(DAY, t('validation.date')),
      to: z.string().regex(DAY, t('validation.date')),
      note: z.string().max(500, t('validation.maxLength', { max: 500 })),
    })
    .superRefine((v, ctx) => {
      if (!DAY.test(v.from) || !DAY.test(v.to)) return;
      if (v.to < v.from) ctx.addIssue({ code: 'custom', path: ['to'], message: t('validation.endBeforeStart') });
      else if (daysInclusive(v.from, v.to) > MAX_ABSENCE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: t('schedules.absenceTooLong', { max: MAX_ABSENCE_DAYS }) });
    });
}
export type AbsenceForm = z.input<ReturnType<typeof absenceSchema>>;

export function holidaySchema(t: T) {
  return z
    .object({
      date: z.string().regex(DAY, t('validation.date')),
      kind: z.enum(HOLIDAY_KINDS),
      name: z.string().max(200, t('validation.maxLength', { max: 200 })),
      working_as: z.string(),
    })
    .superRefine((v, ctx) => {
      if (v.kind === 'working' && !/^[1-7]$/.test(v.working_as)) ctx.addIssue({ code: 'custom', path: ['working_as'], message: t('app.required') });
    });
}
export type HolidayForm = z.input<ReturnType<typeof holidaySchema>>;
