// Kiosk logic that does not touch the browser: what an identification answer means on screen.

export type KioskOutcome =
  | { kind: 'recognised'; name: string; flagged: boolean }
  | { kind: 'notRecognised' }
  | { kind: 'notLive' }
  | { kind: 'noFace' };

interface Answer {
  decision: string;
  employee_name?: string | null;
  event?: { verdict?: string; reasons?: string[] } | null;
}

/** Maps `/kiosk/identify`'s answer (or its problem code) to what the screen shows. */
export function outcomeOf(answer: Answer | null, problemCode?: string): KioskOutcome {
  if (problemCode === 'no_face' || problemCode === 'face_too_small') return { kind: 'noFace' };
  if (problemCode === 'liveness_failed' || problemCode === 'not_live') return { kind: 'notLive' };
  if (!answer || answer.decision !== 'match') return { kind: 'notRecognised' };
  const reasons = answer.event?.reasons ?? [];
  if (reasons.includes('liveness_failed')) return { kind: 'notLive' };
  if (answer.event?.verdict === 'rejected') return { kind: 'notRecognised' };
  return { kind: 'recognised', name: answer.employee_name ?? '', flagged: answer.event?.verdict === 'flagged' };
}

/** Two distinct tones: rising for success, low and long for failure. */
export function toneOf(outcome: KioskOutcome): { freqs: number[]; seconds: number } | null {
  switch (outcome.kind) {
    case 'recognised':
      return { freqs: [660, 880], seconds: 0.15 };
    case 'notRecognised':
    case 'notLive':
      return { freqs: [220], seconds: 0.5 };
    case 'noFace':
      return null;
  }
}

/** A head movement of a liveness challenge (the server's `HeadAction`). */
export type HeadAction = 'turn_left' | 'turn_right' | 'look_up' | 'look_down';

/** One capture of a kiosk challenge: what the screen asks for, and which frame it takes. */
export interface CaptureStep {
  prompt: 'centre' | HeadAction;
  frame: 'best' | 'challenge';
}

/**
 * The captures of a challenge: the best frame looking at the camera, then a neutral challenge
 * frame, each movement, and a return to the centre between movements (the server checks the
 * movements in order, each from and back to the centre).
 */
export function captureSteps(actions: readonly HeadAction[]): CaptureStep[] {
  const steps: CaptureStep[] = [
    { prompt: 'centre', frame: 'best' },
    { prompt: 'centre', frame: 'challenge' },
  ];
  actions.forEach((a, i) => {
    if (i > 0) steps.push({ prompt: 'centre', frame: 'challenge' });
    steps.push({ prompt: a, frame: 'challenge' });
  });
  return steps;
}

/** How long a challenge lives on the server (`CHALLENGE_TTL_S`). */
export const CHALLENGE_TTL_MS = 120_000;

/**
 * Capture times on the server's clock (Unix ms), whatever the tablet's clock says: the
 * challenge was issued `CHALLENGE_TTL_MS` before its `expires_at`, and at about the moment the
 * tablet received it (`receivedLocalMs`); each capture is that plus the tablet's elapsed time.
 * Strictly increasing, as the server requires.
 */
export function serverTimes(expiresAt: string, receivedLocalMs: number, capturedLocalMs: readonly number[]): number[] {
  const issued = Date.parse(expiresAt) - CHALLENGE_TTL_MS;
  let last = issued;
  return capturedLocalMs.map((t) => {
    last = Math.max(last + 1, issued + Math.round(t - receivedLocalMs));
    return last;
  });
}

/** Whether a challenge is still worth using at local time `nowLocalMs` (a margin for the captures). */
export function challengeUsable(receivedLocalMs: number, nowLocalMs: number, marginMs = 30_000): boolean {
  return nowLocalMs - receivedLocalMs < CHALLENGE_TTL_MS - marginMs;
}
