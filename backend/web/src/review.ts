// The flagged review's list: read in batches as it is scrolled (a virtualised list renders only
// the rows on screen, so 1,000 flagged punches scroll as smoothly as 20).

/** Events asked for per request (the server allows up to 500). */
export const REVIEW_BATCH = 200;

/** Rows before the end of what is loaded at which the next batch is asked for. */
export const REVIEW_PREFETCH = 20;

export interface Batch {
  items: readonly unknown[];
  total: number;
  offset: number;
}

/** The offset of the batch after `last`, or `undefined` when every event is loaded. */
export function nextBatchOffset(last: Batch | undefined): number | undefined {
  if (!last) return 0;
  const next = last.offset + last.items.length;
  return last.items.length > 0 && next < last.total ? next : undefined;
}

/** Whether the last row on screen is close enough to the end of the loaded rows to load more. */
export function wantsMore(lastVisible: number | undefined, loaded: number, hasMore: boolean, prefetch = REVIEW_PREFETCH): boolean {
  return hasMore && lastVisible !== undefined && lastVisible >= loaded - 1 - prefetch;
}
