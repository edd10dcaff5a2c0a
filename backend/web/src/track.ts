// A track of location points and a punch's position as map data (GeoJSON), and the day range a
// track is asked for. No MapLibre here: the map itself loads lazily.

import type { Feature, FeatureCollection } from 'geojson';
import { circleRing } from './geo';

export interface TrackPoint {
  lat: number;
  lon: number;
  recorded_at: string;
  accuracy: number;
  mock?: boolean;
  jump?: boolean;
}

export interface Fence {
  latitude: number;
  longitude: number;
  radius_m: number;
}

/** The server refuses ranges longer than this (`range_too_long`). */
export const MAX_TRACK_DAYS = 31;

/**
 * Instants for the days `from`..`to` (both `YYYY-MM-DD`, in the browser's calendar): from the
 * start of `from` to the start of the day after `to` (the server's end is exclusive). An error
 * key when the range is empty, reversed or too long.
 */
export function trackRange(from: string, to: string): { from: string; to: string } | { error: 'validation.date' | 'validation.endBeforeStart' | 'locations.tooLong' } {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(from) || !day.test(to)) return { error: 'validation.date' };
  const start = new Date(`${from}T00:00:00`);
  const end = new Date(`${to}T00:00:00`);
  end.setDate(end.getDate() + 1);
  if (end <= start) return { error: 'validation.endBeforeStart' };
  if (end.getTime() - start.getTime() > MAX_TRACK_DAYS * 86_400_000 + 3_600_000) return { error: 'locations.tooLong' };
  return { from: start.toISOString(), to: end.toISOString() };
}

/** The track as a line through the points in time order, and each point with its flags. */
export function trackFeatures(points: readonly TrackPoint[]): FeatureCollection {
  const ordered = [...points].sort((a, b) => a.recorded_at.localeCompare(b.recorded_at));
  const features: Feature[] = [];
  if (ordered.length >= 2)
    features.push({ type: 'Feature', properties: { kind: 'line' }, geometry: { type: 'LineString', coordinates: ordered.map((p) => [p.lon, p.lat]) } });
  ordered.forEach((p, i) =>
    features.push({
      type: 'Feature',
      properties: { kind: p.mock ? 'mock' : p.jump ? 'jump' : i === ordered.length - 1 ? 'last' : 'point', at: p.recorded_at, accuracy: p.accuracy },
      geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
    }),
  );
  return { type: 'FeatureCollection', features };
}

/** Geofence circles as polygons. */
export function fenceFeatures(fences: readonly Fence[]): FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: fences.map((f) => ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circleRing(f.latitude, f.longitude, f.radius_m)] } })),
  };
}

/** `[[west, south], [east, north]]` around every coordinate given, or null for none. */
export function boundsOf(coords: readonly [number, number][]): [[number, number], [number, number]] | null {
  if (coords.length === 0) return null;
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of coords) {
    w = Math.min(w, lon);
    e = Math.max(e, lon);
    s = Math.min(s, lat);
    n = Math.max(n, lat);
  }
  return [[w, s], [e, n]];
}

/** How many of the points are marked mock or jump. */
export function suspiciousCounts(points: readonly TrackPoint[]): { mock: number; jump: number } {
  return { mock: points.filter((p) => p.mock).length, jump: points.filter((p) => p.jump && !p.mock).length };
}
