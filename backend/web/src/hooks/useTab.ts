import { useSearchParams } from 'react-router';

/** The open tab of a tabbed screen, kept in `?tab=` so a reload or a link opens the same one. */
export function useTab<T extends string>(tabs: readonly T[]): [T, (v: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const asked = params.get('tab') ?? '';
  const tab = (tabs as readonly string[]).includes(asked) ? (asked as T) : tabs[0];
  return [tab, (v) => v && setParams({ tab: v }, { replace: true })];
}
