import { describe, expect, it } from 'vitest';
import { dayRangeToInstants, parseCodes, runChanges, terminalColor, terminalFormToCreate, terminalFormToUpdate, terminalTestView, type TerminalForm } from './integrations';

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

describe('terminal connection test', () => {
  const base = { round_trip_ms: 12, device_name: null, model: null, serial_number: null, firmware_version: null, detail: null, http_status: null, tested_at: '2026-12-07T10:00:00Z' };
  it('lists what the terminal reported on success', () => {
    const v = terminalTestView({ ...base, outcome: 'ok', model: 'DS-K1T341AMF', serial_number: 'SN1', firmware_version: 'V3.2.30' });
    expect(v).toEqual({ ok: true, key: 'terminals.testOutcome.ok', facts: 'DS-K1T341AMF · SN1 · V3.2.30', ms: 12 });
  });
  it('gives the outcome and the detail of a failure', () => {
    const v = terminalTestView({ ...base, outcome: 'auth_failed', detail: 'the terminal refused the credentials (401)', http_status: 401 });
    expect(v).toEqual({ ok: false, key: 'terminals.testOutcome.auth_failed', facts: 'the terminal refused the credentials (401)', ms: 12 });
  });
  it('has no round trip when the terminal was not called', () => {
    expect(terminalTestView({ ...base, outcome: 'locked_out', round_trip_ms: null }).ms).toBeNull();
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
