import { useState, type ReactNode } from 'react';
import { Pagination, Table } from '@mantine/core';
import { keepPreviousData, useQuery, type UseQueryResult } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { pageCount, pageOffset } from '../paging';
import { Empty, ErrorState, Loading } from './States';

/**
 * The one chain every list screen goes through: loading, then an error with a retry, then an
 * empty state, then the content.
 */
export function QueryView<T>({
  query,
  isEmpty,
  emptyText,
  children,
}: {
  query: UseQueryResult<T>;
  isEmpty?: (data: T) => boolean;
  emptyText?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <Empty text={emptyText} />;
  return <>{children(query.data)}</>;
}

export interface Column<Row> {
  /** Column header; empty for an actions column. */
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  /** For a sortable column, its order now (`aria-sort` of the header). */
  sort?: 'ascending' | 'descending' | 'none';
}

/** A plain table of rows with named columns (the accessible name is `label`). */
export function RowsTable<Row>({
  label,
  rows,
  columns,
  rowKey,
  highlightOnHover,
}: {
  label: string;
  rows: readonly Row[];
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => string | number;
  highlightOnHover?: boolean;
}) {
  return (
    <Table striped highlightOnHover={highlightOnHover} aria-label={label}>
      <Table.Thead>
        <Table.Tr>
          {columns.map((c, i) => (
            <Table.Th key={i} aria-sort={c.sort}>
              {c.header}
            </Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((r) => (
          <Table.Tr key={rowKey(r)}>
            {columns.map((c, i) => (
              <Table.Td key={i}>{c.cell(r)}</Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Page buttons with names (`Page 2`, `next`, …) so tests and screen readers can find them. */
export function Pager({ total, pageSize, page, onPage }: { total: number; pageSize: number; page: number; onPage: (p: number) => void }) {
  const { t } = useTranslation();
  return (
    <Pagination
      total={pageCount(total, pageSize)}
      value={page}
      onChange={onPage}
      getControlProps={(control) => ({ 'aria-label': t(`app.pager.${control}`) })}
      getItemProps={(p) => ({ 'aria-label': `${t('app.page')} ${p}` })}
    />
  );
}

/**
 * A server-paged list (`{ items, total }`) as a table with a pager, through the loading / error /
 * empty chain.
 */
export function PagedTable<Row>({
  query,
  label,
  columns,
  rowKey,
  page,
  pageSize,
  onPage,
  emptyText,
  summary,
  highlightOnHover,
}: {
  query: UseQueryResult<{ items: Row[]; total: number }>;
  label: string;
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => string | number;
  page: number;
  pageSize: number;
  onPage: (p: number) => void;
  emptyText?: string;
  summary?: (total: number) => ReactNode;
  highlightOnHover?: boolean;
}) {
  return (
    <QueryView query={query} isEmpty={(d) => d.items.length === 0} emptyText={emptyText}>
      {(data) => (
        <>
          {summary?.(data.total)}
          <RowsTable label={label} rows={data.items} columns={columns} rowKey={rowKey} highlightOnHover={highlightOnHover} />
          <Pager total={data.total} pageSize={pageSize} page={page} onPage={onPage} />
        </>
      )}
    </QueryView>
  );
}

/**
 * A server-paged query and its page number: `fetchPage(limit, offset)` asks for one page; the
 * key gets the page appended. Spread the result into `PagedTable`.
 */
export function usePagedQuery<Row>(
  key: readonly unknown[],
  fetchPage: (limit: number, offset: number) => Promise<{ items: Row[]; total: number }>,
  pageSize: number,
) {
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: [...key, page],
    queryFn: () => fetchPage(pageSize, pageOffset(page, pageSize)),
    placeholderData: keepPreviousData,
  });
  return { query, page, onPage: setPage, pageSize };
}
