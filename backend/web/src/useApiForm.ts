import { useState } from 'react';
import type { FieldValues, Path, UseFormSetError } from 'react-hook-form';
import { ApiError, fieldErrors } from './problem';

/**
 * Puts a server problem onto a react-hook-form: field errors on their fields, the rest in
 * `general` (shown above the submit button).
 */
export function useServerErrors<T extends FieldValues>(setError: UseFormSetError<T>, fields: readonly Path<T>[]) {
  const [general, setGeneral] = useState<string[]>([]);
  return {
    general,
    clear: () => setGeneral([]),
    apply(error: unknown) {
      if (!(error instanceof ApiError)) {
        setGeneral([String(error)]);
        return;
      }
      const { byField, general } = fieldErrors(error.problem, fields);
      for (const [name, message] of Object.entries(byField)) setError(name as Path<T>, { type: 'server', message });
      setGeneral(general);
    },
  };
}
