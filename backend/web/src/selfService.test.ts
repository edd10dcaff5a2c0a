import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import { passwordSchema, windowsByDay } from './selfService';
import { issuesByField } from './useApiForm';

const t = ((key: string) => key) as unknown as TFunction;
const fieldsOf = (v: object) => {
  const r = passwordSchema(t).safeParse(v);
  return r.success ? {} : Object.fromEntries(Object.entries(issuesByField(r.error.issues)).map(([k, e]) => [k, e.message]));
};

describe('password change', () => {
  it('needs the current password, eight characters, the same twice and a change', () => {
    expect(fieldsOf({ current_password: 'old-pass-1', new_password: 'new-pass-1', repeat: 'new-pass-1' })).toEqual({});
    expect(fieldsOf({ current_password: '', new_password: 'short', repeat: 'short' })).toEqual({ current_password: 'app.required', new_password: 'password.tooShort' });
    expect(fieldsOf({ current_password: 'old-pass-1', new_password: 'new-pass-1', repeat: 'new-pass-2' })).toEqual({ repeat: 'password.mismatch' });
    expect(fieldsOf({ current_password: 'same-pass-1', new_password: 'same-pass-1', repeat: 'same-pass-1' })).toEqual({ new_password: 'password.same' });
  });
});

describe('tracking policy', () => {
  it('groups working windows by weekday in week order, earliest first', () => {
    expect(
      windowsByDay([
        { weekday: 'tue', start: '14:00:00', end: '18:00:00' },
        { weekday: 'mon', start: '09:00:00', end: '18:00:00' },
        { weekday: 'tue', start: '08:00:00', end: '12:00:00' },
      ]),
    ).toEqual([['mon', ['09:00–18:00']], ['tue', ['08:00–12:00', '14:00–18:00']]]);
  });
});
