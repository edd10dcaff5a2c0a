import { describe, expect, it } from 'vitest';
import { dayRangeToInstants, parseCodes, runChanges, terminalColor, terminalFormToCreate, terminalFormToUpdate, type TerminalForm } from './integrations';

const form: TerminalForm = { name: ' Gate ', base_url: ' http://10.0.0.5 ', username: 'admin', password: '', site_id: 's', direction: 'both', poll_interval_s: 30, enabled: true };

describe('terminal form', () => {
  it('never sends an empty password on an edit (write-only field)', () => {
    expect(terminalFormToUpdate(form)).not.toHaveProperty('password');
    expect(terminalFormToUpdate({ ...form, password: 'new' })).toMatchObject({ password: 'new', name: 'Gate', base_url: 'http://10.0.0.5' });
    expect(terminalFormToCreate({ ...form, password: 'p' })).toMatchObject({ password: 'p', name: 'Gate' });
  });
  it('colours statuses', () => {
    expect(terminalColor('ok')).toBe('green');
    expect(terminalColor('error')).toBe('red');
    expect(terminalColor('locked_out')).toBe('red');
    expect(terminalColor('pending')).toBe('gray');
  });
});

describe('iiko', () => {
  it('reads run changes defensively', () => {
    expect(runChanges({ changes: [{ iiko_id: '7', kind: 'employee_created', detail: 'Ivanov' }, { kind: 'x', detail: { a: 1 } }, null] as never })).toEqual([
      { iiko_id: '7', kind: 'employee_created', detail: 'Ivanov' },
      { iiko_id: '', kind: 'x', detail: '{"a":1}' },
      { iiko_id: '', kind: '', detail: '' },
    ]);
  });
  it('splits department codes', () => {
    expect(parseCodes(' A1, B2;C3  D4 ,')).toEqual(['A1', 'B2', 'C3', 'D4']);
    expect(parseCodes('')).toEqual([]);
  });
  it('turns an inclusive day range into local midnights', () => {
    const r = dayRangeToInstants('2026-12-01', '2026-12-31')!;
    expect(r.from).toBe(new Date(2026, 11, 1).toISOString());
    expect(r.to).toBe(new Date(2027, 0, 1).toISOString());
    expect(dayRangeToInstants('', '2026-12-01')).toBeNull();
  });
});
