import { useState } from 'react';
import { Code, Group, Pagination, Spoiler, Stack, Table, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatDateTime } from '../dates';
import { pageCount, pageOffset } from '../paging';

const PAGE = 50;

/** Who changed what and when, newest first (administrators only). */
export function AuditPage() {
  const { t, i18n } = useTranslation();
  const [typeInput, setTypeInput] = useState('');
  const [entityType] = useDebouncedValue(typeInput.trim(), 300);
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ['audit', entityType, page],
    queryFn: () =>
      unwrap(api.GET('/api/v1/audit', { params: { query: { entity_type: entityType || undefined, limit: PAGE, offset: pageOffset(page, PAGE) } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <Stack>
      <Title order={2}>{t('audit.title')}</Title>
      <Group>
        <TextInput label={t('audit.entityType')} placeholder="employee, site, device…" value={typeInput} onChange={(e) => { setTypeInput(e.currentTarget.value); setPage(1); }} />
      </Group>
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.items.length === 0 ? (
        <Empty />
      ) : (
        <>
          <Table striped aria-label={t('audit.title')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('audit.at')}</Table.Th>
                <Table.Th>{t('audit.actor')}</Table.Th>
                <Table.Th>{t('audit.action')}</Table.Th>
                <Table.Th>{t('audit.details')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {query.data.items.map((a) => (
                <Table.Tr key={a.id}>
                  <Table.Td>{formatDateTime(a.at, undefined, i18n.language)}</Table.Td>
                  <Table.Td>{a.actor_login ?? '—'}</Table.Td>
                  <Table.Td>
                    <Code>{a.action}</Code>
                  </Table.Td>
                  <Table.Td>
                    {(a.before != null || a.after != null) && (
                      <Spoiler maxHeight={40} showLabel="…" hideLabel="↑">
                        <Code block>{JSON.stringify({ before: a.before ?? undefined, after: a.after ?? undefined }, null, 1)}</Code>
                      </Spoiler>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Pagination total={pageCount(query.data.total, PAGE)} value={page} onChange={setPage} />
        </>
      )}
    </Stack>
  );
}
