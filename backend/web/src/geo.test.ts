import { describe, expect, it } from 'vitest';
import { circleRing, distanceM } from './geo';

describe('circleRing', () => {
  it('is closed and every point is at the radius from the centre', () => {
    const ring = circleRing(55.75, 37.61, 150, 32);
    expect(ring).toHaveLength(33);
    expect(ring[0]).toEqual(ring[32]);
    for (const [lon, lat] of ring) expect(Math.abs(distanceM(55.75, 37.61, lat, lon) - 150)).toBeLessThan(0.5);
  });
  it('distance of one degree of latitude is about 111 km', () => {
    expect(distanceM(0, 0, 1, 0)).toBeGreaterThan(111_000);
    expect(distanceM(0, 0, 1, 0)).toBeLessThan(111_400);
  });
});
