// The server answers every error as application/problem+json with a stable `code` and, for
// invalid input, one entry per field. These helpers turn that into what forms display.

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
  get code(): string {
    return this.problem.code;
  }
}

/** Reads a problem from a parsed error body, or builds one from the HTTP status. */
export function toProblem(body: unknown, status: number): Problem {
  if (body && typeof body === 'object' && 'code' in body && typeof body.code === 'string') {
    const b = body as Partial<Problem>;
    return {
      type: b.type,
      title: typeof b.title === 'string' ? b.title : b.code!,
      status: typeof b.status === 'number' ? b.status : status,
      code: b.code!,
      detail: typeof b.detail === 'string' ? b.detail : undefined,
      errors: Array.isArray(b.errors) ? b.errors : [],
    };
  }
  return { title: `HTTP ${status}`, status, code: status === 0 ? 'network_error' : `http_${status}` };
}

/**
 * Splits a problem's field errors by form field. Server field paths use dots (`device.name`,
 * `geofence.radius_m`); `known` are the form's field names: an error on a field the form does
 * not show goes to the general list, so nothing is silently dropped.
 */
export function fieldErrors(
  problem: Problem,
  known: readonly string[],
  codeFields: Readonly<Partial<Record<string, { field: string; message?: string }>>> = {},
): { byField: Record<string, string>; general: string[] } {
  const byField: Record<string, string> = {};
  const general: string[] = [];
  // A problem code that names a field (`wrong_password` → the current password).
  const owner = codeFields[problem.code];
  if (owner && (problem.errors ?? []).length === 0) return { byField: { [owner.field]: owner.message ?? problem.detail ?? problem.title }, general };
  for (const e of problem.errors ?? []) {
    const name = known.find((k) => e.field === k || e.field.startsWith(`${k}.`) || e.field.startsWith(`${k}[`));
    if (name && !(name in byField)) byField[name] = e.message;
    else general.push(`${e.field}: ${e.message}`);
  }
  // A conflict on a unique field (`login_taken`, `card_number_taken`) belongs to that field.
  const taken = /^(.+)_taken$/.exec(problem.code)?.[1];
  if ((problem.errors ?? []).length === 0) {
    const message = problem.detail ?? problem.title;
    if (taken && known.includes(taken)) byField[taken] = message;
    else general.push(message);
  }
  return { byField, general };
}
