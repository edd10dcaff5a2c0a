import { useQuery } from '@tanstack/react-query';
import type { StyleSpecification } from 'maplibre-gl';
import { api, unwrap } from '../api/client';
import { PLAIN_STYLE } from '../mapStyle';

/** The maps' style: the administrator's basemap (setting `map_style_url`), else a plain background. */
export function useMapStyle(): string | StyleSpecification {
  const map = useQuery({ queryKey: ['map-settings'], queryFn: () => unwrap(api.GET('/api/v1/settings/map')), staleTime: 5 * 60_000 });
  return map.data?.style_url || PLAIN_STYLE;
}
