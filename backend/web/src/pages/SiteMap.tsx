// MapLibre map of one circular geofence, loaded only on the sites page. Without a configured
// basemap it draws on a plain background (no tile server needed); click moves the centre.

import { useEffect, useRef } from 'react';
import * as maplibregl from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { circleRing } from '../geo';
import { useMapStyle } from '../hooks/useMapStyle';

maplibregl.setWorkerUrl(workerUrl);


export interface Circle {
  latitude: number;
  longitude: number;
  radius_m: number;
}

function geojson(c: Circle): FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circleRing(c.latitude, c.longitude, c.radius_m)] } },
      { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [c.longitude, c.latitude] } },
    ],
  };
}

export default function SiteMap({ circle, onMove, label }: { circle: Circle; onMove: (lat: number, lon: number) => void; label: string }) {
  const style = useMapStyle();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<maplibregl.Map | null>(null);
  const move = useRef(onMove);
  move.current = onMove;

  useEffect(() => {
    const m = new maplibregl.Map({ container: el.current!, style, center: [circle.longitude, circle.latitude], zoom: 15 });
    map.current = m;
    m.on('load', () => {
      m.addSource('fence', { type: 'geojson', data: geojson(circle) });
      m.addLayer({ id: 'fence-fill', type: 'fill', source: 'fence', paint: { 'fill-color': '#228be6', 'fill-opacity': 0.25 } });
      m.addLayer({ id: 'fence-line', type: 'line', source: 'fence', paint: { 'line-color': '#1971c2', 'line-width': 2 } });
      m.addLayer({ id: 'fence-centre', type: 'circle', source: 'fence', filter: ['==', '$type', 'Point'], paint: { 'circle-radius': 5, 'circle-color': '#1971c2' } });
    });
    m.on('click', (e) => move.current(e.lngLat.lat, e.lngLat.lng));
    return () => m.remove();
    // The map is created once per style; later circles are pushed into its source below.
  }, [style]);

  useEffect(() => {
    const src = map.current?.getSource('fence') as maplibregl.GeoJSONSource | undefined;
    src?.setData(geojson(circle));
  }, [circle]);

  return <div ref={el} role="application" aria-label={label} style={{ height: 360, borderRadius: 8 }} />;
}
