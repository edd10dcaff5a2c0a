import type { components } from './api/schema';

type TodayGroup = components['schemas']['TodayGroup'];

/** The lists of the today view, in the order the dashboard shows them. */
export const TODAY_LISTS = ['in_now', 'late', 'missing', 'not_checked_out', 'on_leave', 'pending_review'] as const;
export type TodayList = (typeof TODAY_LISTS)[number];

export interface TodayPerson {
  employee_id: string;
  name: string;
  /** Minutes late, or the kind of leave. */
  detail?: { kind: 'late'; value: number } | { kind: 'leave'; value: string };
}

export function todayCount(group: TodayGroup, list: TodayList): number {
  return group[list].length;
}

/** The people behind one number, sorted by name. */
export function todayPeople(group: TodayGroup, list: TodayList): TodayPerson[] {
  let people: TodayPerson[];
  if (list === 'late') {
    people = group.late.map((p) => ({ employee_id: p.employee_id, name: p.name, detail: { kind: 'late', value: p.minutes } }));
  } else if (list === 'on_leave') {
    people = group.on_leave.map((p) => ({ employee_id: p.employee_id, name: p.name, detail: { kind: 'leave', value: p.kind } }));
  } else {
    people = group[list].map((p) => ({ employee_id: p.employee_id, name: p.name }));
  }
  return people.sort((a, b) => a.name.localeCompare(b.name));
}
