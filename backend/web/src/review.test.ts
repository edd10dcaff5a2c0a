import { describe, expect, it } from 'vitest';
import { nextBatchOffset, wantsMore } from './review';

const batch = (offset: number, n: number, total: number) => ({ offset, total, items: Array.from({ length: n }) });

describe('flagged review batches', () => {
  it('starts at zero and follows the loaded rows', () => {
    expect(nextBatchOffset(undefined)).toBe(0);
    expect(nextBatchOffset(batch(0, 200, 1000))).toBe(200);
    expect(nextBatchOffset(batch(800, 200, 1000))).toBeUndefined();
    expect(nextBatchOffset(batch(200, 150, 1000))).toBe(350);
  });
  it('stops on an empty batch (the list shrank while reading)', () => {
    expect(nextBatchOffset(batch(400, 0, 1000))).toBeUndefined();
  });
  it('asks for more near the end of the loaded rows only', () => {
    expect(wantsMore(undefined, 200, true)).toBe(false);
    expect(wantsMore(100, 200, true)).toBe(false);
    expect(wantsMore(179, 200, true)).toBe(true);
    expect(wantsMore(199, 200, false)).toBe(false);
  });
});
