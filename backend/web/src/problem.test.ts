import { describe, expect, it } from 'vitest';
import { fieldErrors, toProblem } from './problem';

describe('toProblem', () => {
  it('reads a problem+json body', () => {
    const p = toProblem({ type: 'urn:faceid:problem:validation', title: 'Invalid', status: 422, code: 'validation', errors: [{ field: 'login', code: 'required', message: 'must not be empty' }] }, 422);
    expect(p.code).toBe('validation');
    expect(p.errors).toHaveLength(1);
  });
  it('builds a problem from the status when the body is not one', () => {
    expect(toProblem('<html>', 502)).toMatchObject({ status: 502, code: 'http_502' });
    expect(toProblem(null, 0).code).toBe('network_error');
  });
});

describe('fieldErrors', () => {
  it('puts errors on the fields the form shows, nested paths on their top field, the rest in general', () => {
    const p = toProblem({ title: 'Invalid', status: 422, code: 'validation', errors: [
      { field: 'login', code: 'taken', message: 'already used' },
      { field: 'geofence.radius_m', code: 'range', message: 'too big' },
      { field: 'card_number', code: 'x', message: 'bad card' },
    ] }, 422);
    const r = fieldErrors(p, ['login', 'geofence']);
    expect(r.byField).toEqual({ login: 'already used', geofence: 'too big' });
    expect(r.general).toEqual(['card_number: bad card']);
  });
  it('shows the detail when there are no field errors', () => {
    const r = fieldErrors(toProblem({ title: 'Conflict', status: 409, code: 'last_admin', detail: 'cannot dismiss the last admin' }, 409), ['login']);
    expect(r.byField).toEqual({});
    expect(r.general).toEqual(['cannot dismiss the last admin']);
  });
  it('puts a taken unique value on its field', () => {
    const r = fieldErrors(toProblem({ title: 'Conflict', status: 409, code: 'login_taken', detail: 'this login is taken' }, 409), ['login', 'password']);
    expect(r.byField).toEqual({ login: 'this login is taken' });
    expect(r.general).toEqual([]);
  });
  it('puts a problem whose code names a field on that field, in the panel\'s words', () => {
    const wrong = toProblem({ title: 'Forbidden', status: 403, code: 'wrong_password', detail: 'the current password is wrong' }, 403);
    const codes = { wrong_password: { field: 'current_password', message: 'Текущий пароль неверен' } };
    expect(fieldErrors(wrong, ['current_password', 'new_password'], codes)).toEqual({ byField: { current_password: 'Текущий пароль неверен' }, general: [] });
    // Without the mapping it stays a general error.
    expect(fieldErrors(wrong, ['current_password']).general).toEqual(['the current password is wrong']);
  });
});
