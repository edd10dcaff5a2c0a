import { describe, expect, it } from 'vitest';
import { CHALLENGE_TTL_MS, captureSteps, challengeUsable, outcomeOf, serverTimes, toneOf } from './kiosk';

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

describe('the kiosk challenge', () => {
  it('captures the best frame, a neutral frame, and each movement from the centre', () => {
    expect(captureSteps(['turn_left', 'turn_right'])).toEqual([
      { prompt: 'centre', frame: 'best' },
      { prompt: 'centre', frame: 'challenge' },
      { prompt: 'turn_left', frame: 'challenge' },
      { prompt: 'centre', frame: 'challenge' },
      { prompt: 'turn_right', frame: 'challenge' },
    ]);
  });
  it('stamps captures on the server clock, after the issue time and increasing', () => {
    const expires = '2026-12-07T10:02:00.000Z';
    const issued = Date.parse(expires) - CHALLENGE_TTL_MS;
    // The tablet's clock is an hour off; only elapsed time counts.
    const received = Date.parse('2026-12-07T11:00:00.000Z');
    expect(serverTimes(expires, received, [received + 500, received + 500, received + 2000])).toEqual([issued + 500, issued + 501, issued + 2000]);
  });
  it('a challenge close to its expiry is replaced', () => {
    expect(challengeUsable(0, 10_000)).toBe(true);
    expect(challengeUsable(0, 100_000)).toBe(false);
  });
});
