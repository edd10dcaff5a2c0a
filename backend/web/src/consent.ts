import type { components } from './api/schema';

export type ConsentKind = components['schemas']['ConsentKind'];
export type ConsentRecord = components['schemas']['ConsentRecord'];
export const CONSENT_KINDS: readonly ConsentKind[] = ['biometric', 'location', 'telegram'];

/** Whether a kind is granted now: its latest record is a grant. */
export function currentState(records: readonly ConsentRecord[], kind: ConsentKind): 'granted' | 'withdrawn' | 'notGiven' {
  const latest = records
    .filter((r) => r.kind === kind)
    .reduce<ConsentRecord | null>((a, r) => (a === null || r.at > a.at ? r : a), null);
  if (!latest) return 'notGiven';
  return latest.action === 'grant' ? 'granted' : 'withdrawn';
}
