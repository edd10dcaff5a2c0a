// MapLibre map of positions, loaded only where one is shown: an employee's track (a line, the
// points, mock points red and jumps orange) and / or single punch positions, over the sites'
// geofences. Drawn on a plain background without any tile server.

import { useEffect, useRef } from 'react';
import * as maplibregl from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { useMapStyle } from '../hooks/useMapStyle';
import { boundsOf, fenceFeatures, trackFeatures, type Fence, type TrackPoint } from '../track';

maplibregl.setWorkerUrl(workerUrl);

export interface TrackMapProps {
  label: string;
  points?: readonly TrackPoint[];
  /** A punch's position (drawn as a larger marker). */
  punch?: { lat: number; lon: number } | null;
  fences?: readonly Fence[];
  height?: number;
}

function punchFeatures(punch: TrackMapProps['punch']): FeatureCollection {
  return { type: 'FeatureCollection', features: punch ? [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [punch.lon, punch.lat] } }] : [] };
}

const NONE: never[] = [];

export default function TrackMap({ label, points = NONE, punch = null, fences = NONE, height = 360 }: TrackMapProps) {
  const style = useMapStyle();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<maplibregl.Map | null>(null);
  const loaded = useRef(false);
  const data = useRef({ points, punch, fences });
  data.current = { points, punch, fences };

  const draw = () => {
    const m = map.current;
    if (!m || !loaded.current) return;
    const { points, punch, fences } = data.current;
    (m.getSource('fences') as maplibregl.GeoJSONSource).setData(fenceFeatures(fences));
    (m.getSource('track') as maplibregl.GeoJSONSource).setData(trackFeatures(points));
    (m.getSource('punch') as maplibregl.GeoJSONSource).setData(punchFeatures(punch));
    const coords: [number, number][] = [...points.map((p) => [p.lon, p.lat] as [number, number]), ...(punch ? [[punch.lon, punch.lat] as [number, number]] : [])];
    // With nothing of the person to show, frame the fences.
    const framed = coords.length > 0 ? coords : fences.map((f) => [f.longitude, f.latitude] as [number, number]);
    const b = boundsOf(framed);
    if (b) m.fitBounds(b, { padding: 48, maxZoom: 16, duration: 0 });
  };

  useEffect(() => {
    const m = new maplibregl.Map({ container: el.current!, style, center: [68.787, 38.5598], zoom: 12 });
    map.current = m;
    m.on('load', () => {
      m.addSource('fences', { type: 'geojson', data: fenceFeatures([]) });
      m.addSource('track', { type: 'geojson', data: trackFeatures([]) });
      m.addSource('punch', { type: 'geojson', data: punchFeatures(null) });
      m.addLayer({ id: 'fence-fill', type: 'fill', source: 'fences', paint: { 'fill-color': '#228be6', 'fill-opacity': 0.2 } });
      m.addLayer({ id: 'fence-line', type: 'line', source: 'fences', paint: { 'line-color': '#1971c2', 'line-width': 2 } });
      m.addLayer({ id: 'track-line', type: 'line', source: 'track', filter: ['==', ['get', 'kind'], 'line'], paint: { 'line-color': '#495057', 'line-width': 2 } });
      m.addLayer({
        id: 'track-points',
        type: 'circle',
        source: 'track',
        filter: ['!=', ['get', 'kind'], 'line'],
        paint: {
          'circle-radius': ['match', ['get', 'kind'], 'mock', 6, 'jump', 6, 'last', 6, 4],
          'circle-color': ['match', ['get', 'kind'], 'mock', '#e03131', 'jump', '#f08c00', 'last', '#2f9e44', '#1971c2'],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1,
        },
      });
      m.addLayer({ id: 'punch', type: 'circle', source: 'punch', paint: { 'circle-radius': 8, 'circle-color': '#e8590c', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } });
      loaded.current = true;
      draw();
    });
    return () => {
      loaded.current = false;
      m.remove();
    };
    // The map is created once per style; later data is pushed into its sources below.
  }, [style]);

  useEffect(draw, [points, punch, fences]);

  return <div ref={el} role="application" aria-label={label} style={{ height, borderRadius: 8 }} />;
}
