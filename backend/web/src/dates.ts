/** `YYYY-MM` of a date (local calendar). */
export function currentMonth(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

