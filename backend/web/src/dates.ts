/** `YYYY-MM` of a date (local calendar). */
export function currentMonth(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}


/**
 * A date and time with its zone shown (`timeZone` is the site's IANA zone; the browser's own
 * zone when absent), in the panel's language.
 */
export function formatDateTime(iso: string, timeZone?: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // dateStyle/timeStyle cannot be combined with timeZoneName, so the fields are spelled out.
  const fields: Intl.DateTimeFormatOptions = {
    year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
  };
  try {
    return new Intl.DateTimeFormat(locale, { ...fields, timeZone }).format(d);
  } catch {
    // An unknown zone name: show the instant in the browser's zone rather than nothing.
    return new Intl.DateTimeFormat(locale, fields).format(d);
  }
}

/** `YYYY-MM-DD` of a date (local calendar). */
export function isoDay(d: Date): string {
  return `${currentMonth(d)}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The time of day of an instant with its zone (`timeZone`: the browser's when absent), in the panel's language. */
export function formatTime(iso: string, timeZone?: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const fields: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
  try {
    return new Intl.DateTimeFormat(locale, { ...fields, timeZone }).format(d);
  } catch {
    return new Intl.DateTimeFormat(locale, fields).format(d);
  }
}
