import { useState } from 'react';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { FieldErrors, FieldValues, Path, Resolver, UseFormReturn, UseFormSetError } from 'react-hook-form';
import type { z } from 'zod';
import { ApiError, fieldErrors } from './problem';

/**
 * Puts a server problem onto a react-hook-form: field errors on their fields, the rest in
 * `general` (shown above the submit button).
 */
export function useServerErrors<T extends FieldValues>(setError: UseFormSetError<T>, fields: readonly Path<T>[], codeFields: Partial<Record<string, { field: Path<T>; message?: string }>> = {}) {
  const [general, setGeneral] = useState<string[]>([]);
  return {
    general,
    clear: () => setGeneral([]),
    apply(error: unknown) {
      if (!(error instanceof ApiError)) {
        setGeneral([String(error)]);
        return;
      }
      const { byField, general } = fieldErrors(error.problem, fields, codeFields);
      for (const [name, message] of Object.entries(byField)) setError(name as Path<T>, { type: 'server', message });
      setGeneral(general);
    },
  };
}

/**
 * A react-hook-form resolver from a zod schema: each issue goes onto the field its path starts
 * with (the first issue of a field wins). The schema's output is what `handleSubmit` receives.
 */
export function zodResolver<Input extends FieldValues, Output extends FieldValues>(schema: z.ZodType<Output, Input>): Resolver<Input, unknown, Output> {
  return async (values) => {
    const parsed = schema.safeParse(values);
    if (parsed.success) return { values: parsed.data, errors: {} };
    return { values: {}, errors: issuesByField(parsed.error.issues) as FieldErrors<Input> };
  };
}

/** The first message per top-level field of zod issues. */
export function issuesByField(issues: readonly { path: PropertyKey[]; message: string; code: string }[]): Record<string, { type: string; message: string }> {
  const out: Record<string, { type: string; message: string }> = {};
  for (const i of issues) {
    const field = String(i.path[0] ?? 'root');
    if (!(field in out)) out[field] = { type: i.code, message: i.message };
  }
  return out;
}

/**
 * A form's submission to the server: validated by its resolver, sent by `send`, and on success a
 * notification, the listed queries refreshed and the form reset; a problem goes onto the form's
 * fields (`fields`) or above its submit button (`general`).
 */
export function useFormMutation<Input extends FieldValues, Output extends FieldValues, R>(
  form: UseFormReturn<Input, unknown, Output>,
  fields: readonly Path<Input>[],
  send: (values: Output) => Promise<R>,
  opts: { invalidate?: readonly unknown[][]; done?: string; reset?: boolean; onSuccess?: (r: R) => void; codeFields?: Partial<Record<string, { field: Path<Input>; message?: string }>> } = {},
) {
  const qc = useQueryClient();
  const server = useServerErrors(form.setError, fields, opts.codeFields);
  const mutation = useMutation({
    mutationFn: send,
    onSuccess: (r) => {
      if (opts.done) notifications.show({ color: 'green', message: opts.done });
      for (const key of opts.invalidate ?? []) void qc.invalidateQueries({ queryKey: key });
      if (opts.reset !== false) form.reset();
      opts.onSuccess?.(r);
    },
    onError: server.apply,
  });
  return {
    submit: form.handleSubmit((v) => {
      server.clear();
      mutation.mutate(v);
    }),
    general: server.general,
    pending: mutation.isPending,
  };
}
