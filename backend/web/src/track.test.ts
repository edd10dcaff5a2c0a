import { describe, expect, it } from 'vitest';
import { boundsOf, fenceFeatures, suspiciousCounts, trackFeatures, trackRange } from './track';

const p = (at: string, lat: number, lon: number, extra: object = {}) => ({ recorded_at: at, lat, lon, accuracy: 10, ...extra });

describe('track', () => {
  it('asks for whole days, the end exclusive, and refuses reversed or too long ranges', () => {
    const r = trackRange('2026-12-01', '2026-12-01');
    expect('from' in r && new Date(r.to).getTime() - new Date(r.from).getTime()).toBe(86_400_000);
    expect(trackRange('2026-12-02', '2026-12-01')).toEqual({ error: 'validation.endBeforeStart' });
    expect(trackRange('2026-12-01', '2027-01-01')).toEqual({ error: 'locations.tooLong' });
    expect('from' in trackRange('2026-12-01', '2026-12-31')).toBe(true);
    expect(trackRange('', '2026-12-01')).toEqual({ error: 'validation.date' });
  });
  it('draws a line in time order and marks mock and jump points', () => {
    const fc = trackFeatures([p('2026-12-01T10:00:00Z', 1, 2), p('2026-12-01T09:00:00Z', 3, 4, { mock: true }), p('2026-12-01T11:00:00Z', 5, 6, { jump: true })]);
    expect(fc.features[0].geometry).toEqual({ type: 'LineString', coordinates: [[4, 3], [2, 1], [6, 5]] });
    expect(fc.features.slice(1).map((f) => f.properties!.kind)).toEqual(['mock', 'point', 'jump']);
    expect(trackFeatures([p('2026-12-01T10:00:00Z', 1, 2)]).features.map((f) => f.geometry.type)).toEqual(['Point']);
    expect(suspiciousCounts([p('a', 0, 0, { mock: true, jump: true }), p('b', 0, 0, { jump: true })])).toEqual({ mock: 1, jump: 1 });
  });
  it('bounds every coordinate, and a fence is a closed ring', () => {
    expect(boundsOf([[68.7, 38.5], [68.8, 38.6], [68.75, 38.4]])).toEqual([[68.7, 38.4], [68.8, 38.6]]);
    expect(boundsOf([])).toBeNull();
    const ring = (fenceFeatures([{ latitude: 38.5, longitude: 68.7, radius_m: 100 }]).features[0].geometry as { coordinates: number[][][] }).coordinates[0];
    expect(ring[0]).toEqual(ring[ring.length - 1]);
  });
});
