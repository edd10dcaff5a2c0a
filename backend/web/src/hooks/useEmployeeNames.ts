import { useQueries, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

/**
 * Names of the employees a list refers to by id, each fetched once and cached (a page of events
 * names a handful of people). An id outside the caller's scope or unknown keeps its id.
 */
export function useEmployeeNames(ids: readonly string[]): (id: string) => string {
  const unique = [...new Set(ids)];
  const results = useQueries({
    queries: unique.map((id) => ({
      queryKey: ['employee', id],
      queryFn: () => unwrap(api.GET('/api/v1/employees/{id}', { params: { path: { id } } })),
      staleTime: 5 * 60_000,
      retry: false,
    })),
  });
  const names = new Map<string, string>();
  unique.forEach((id, i) => {
    const e = results[i]?.data;
    if (e) names.set(id, `${e.last_name} ${e.first_name}`);
  });
  return (id) => names.get(id) ?? id;
}

/** One employee's name (a row of a virtualised list asks for its own when it is on screen). */
export function useEmployeeName(id: string): string {
  const q = useQuery({
    queryKey: ['employee', id],
    queryFn: () => unwrap(api.GET('/api/v1/employees/{id}', { params: { path: { id } } })),
    staleTime: 5 * 60_000,
    retry: false,
  });
  return q.data ? `${q.data.last_name} ${q.data.first_name}` : id;
}
