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
