/** Offset of a 1-based page. */
export function pageOffset(page: number, size: number): number {
  return Math.max(0, Math.floor(page) - 1) * size;
}

/** Number of pages for `total` items (at least one, so the pager never disappears). */
export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/** The rows of a 1-based page of a list held whole on the client. */
export function pageItems<T>(rows: readonly T[], page: number, size: number): T[] {
  const start = pageOffset(page, size);
  return rows.slice(start, start + size);
}
