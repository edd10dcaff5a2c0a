// Self-service rules: the password change form and how a tracking policy reads.

import type { TFunction } from 'i18next';
import { z } from 'zod';
import type { components } from './api/schema';

/** The server's minimum (`faceid_protocol::org::MIN_PASSWORD_LEN`). */
export const MIN_PASSWORD = 8;

export function passwordSchema(t: TFunction) {
  return z
    .object({
      current_password: z.string().min(1, t('app.required')),
      new_password: z.string().min(MIN_PASSWORD, t('password.tooShort', { min: MIN_PASSWORD })),
      repeat: z.string(),
    })
    .refine((v) => v.repeat === v.new_password, { path: ['repeat'], message: t('password.mismatch') })
    .refine((v) => v.new_password === '' || v.new_password !== v.current_password, { path: ['new_password'], message: t('password.same') });
}
export type PasswordForm = z.input<ReturnType<typeof passwordSchema>>;

type WorkingWindow = components['schemas']['WorkingWindow'];
const ORDER = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Working-hours windows grouped by weekday in week order: `[['mon', ['09:00–18:00']], …]`. */
export function windowsByDay(windows: readonly WorkingWindow[]): [string, string[]][] {
  const hm = (s: string) => s.slice(0, 5);
  return ORDER.flatMap((d) => {
    const w = windows.filter((x) => x.weekday === d).sort((a, b) => a.start.localeCompare(b.start));
    return w.length ? [[d, w.map((x) => `${hm(x.start)}–${hm(x.end)}`)] as [string, string[]]] : [];
  });
}
