import { describe, expect, it } from 'vitest';
import { luma, MotionPresence } from './presence';

const N = 32 * 24;
const flat = (v: number) => new Float32Array(N).fill(v);
/** A frame with a dark block over `share` of the pixels (someone in front of the camera). */
const withPerson = (share: number) => {
  const f = flat(128);
  for (let i = 0; i < Math.round(share * N); i++) f[i] = 30;
  return f;
};

describe('motion-based presence', () => {
  it('reads luma from RGBA', () => {
    expect([...luma([255, 255, 255, 255, 0, 0, 0, 255])].map(Math.round)).toEqual([255, 0]);
  });
  it('an unchanging empty scene is nobody', () => {
    const p = new MotionPresence();
    for (let t = 0; t < 20; t++) expect(p.update(flat(128), t * 250)).toBe(false);
  });
  it('small changes (noise, a light flicker of a few pixels) are nobody', () => {
    const p = new MotionPresence();
    p.update(flat(128), 0);
    expect(p.update(flat(140), 250)).toBe(false);
    expect(p.update(withPerson(0.02), 500)).toBe(false);
  });
  it('someone walking in is present, and stays so while standing still for a while', () => {
    const p = new MotionPresence({ holdMs: 3000 });
    p.update(flat(128), 0);
    expect(p.update(withPerson(0.3), 250)).toBe(true);
    expect(p.update(withPerson(0.3), 1000)).toBe(true);
  });
  it('a still person is absorbed into the background in the end', () => {
    const p = new MotionPresence({ holdMs: 1000 });
    p.update(flat(128), 0);
    let t = 0;
    let present = true;
    for (; t < 200 && present; t++) present = p.update(withPerson(0.3), 250 + t * 250);
    expect(present).toBe(false);
    expect(t).toBeGreaterThan(10);
  });
  it('rearm forgets the hold, but a frame still unlike the background counts again', () => {
    const p = new MotionPresence({ holdMs: 10_000 });
    p.update(flat(128), 0);
    expect(p.update(withPerson(0.3), 250)).toBe(true);
    p.rearm();
    expect(p.update(withPerson(0.3), 500)).toBe(true);
    const q = new MotionPresence({ holdMs: 10_000 });
    q.update(flat(128), 0);
    expect(q.update(withPerson(0.3), 250)).toBe(true);
    q.rearm();
    expect(q.update(flat(128), 500)).toBe(false);
  });
});
