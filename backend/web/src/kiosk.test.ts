import { describe, expect, it } from 'vitest';
import { outcomeOf, toneOf } from './kiosk';

describe('outcomeOf', () => {
  it('a match with an accepted punch greets the person', () => {
    expect(outcomeOf({ decision: 'match', employee_name: 'Ada Lovelace', event: { verdict: 'accepted', reasons: [] } })).toEqual({ kind: 'recognised', name: 'Ada Lovelace', flagged: false });
  });
  it('a failed liveness check is "not live", even on a match', () => {
    expect(outcomeOf({ decision: 'match', employee_name: 'A', event: { verdict: 'rejected', reasons: ['liveness_failed'] } }).kind).toBe('notLive');
  });
  it('unknown faces and rejected punches are "not recognised"; a frame without a face is ignored', () => {
    expect(outcomeOf({ decision: 'unknown' }).kind).toBe('notRecognised');
    expect(outcomeOf({ decision: 'match', event: { verdict: 'rejected', reasons: ['face_mismatch'] } }).kind).toBe('notRecognised');
    expect(outcomeOf(null, 'no_face').kind).toBe('noFace');
  });
});

describe('toneOf', () => {
  it('success and failure sound different; no face is silent', () => {
    const ok = toneOf({ kind: 'recognised', name: 'A', flagged: false });
    const bad = toneOf({ kind: 'notRecognised' });
    expect(ok).not.toBeNull();
    expect(bad).not.toBeNull();
    expect(ok!.freqs).not.toEqual(bad!.freqs);
    expect(toneOf({ kind: 'noFace' })).toBeNull();
  });
});
