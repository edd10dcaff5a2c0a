import { useState } from 'react';
import { Alert, Badge, Button, Group, NativeSelect, Pagination, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatDateTime, isoDay } from '../dates';
import { useEmployeeNames } from '../hooks/useEmployeeNames';
import { pageCount, pageOffset } from '../paging';

const PAGE = 50;
const VERDICTS = ['verified', 'flagged', 'rejected'] as const;
type VerdictFilter = '' | (typeof VERDICTS)[number];

/** Day bounds as instants: `from` at the start of its day, `to` at the end of its day. */
function dayRange(from: string, to: string): { from?: string; to?: string } {
  const ok = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d);
  return {
    from: ok(from) ? new Date(`${from}T00:00:00`).toISOString() : undefined,
    to: ok(to) ? new Date(`${to}T23:59:59.999`).toISOString() : undefined,
  };
}

/** Every punch, review and correction in the caller's scope, with filters and the chain check. */
export function EventsPage() {
  const { t, i18n } = useTranslation();
  const today = isoDay(new Date());
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [verdict, setVerdict] = useState<VerdictFilter>('');
  const [page, setPage] = useState(1);
  const range = dayRange(from, to);
  const query = useQuery({
    queryKey: ['events', range.from, range.to, verdict, page],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/attendance', {
          params: { query: { ...range, verdict: verdict || undefined, limit: PAGE, offset: pageOffset(page, PAGE) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const nameOf = useEmployeeNames(query.data?.items.map((e) => e.employee_id) ?? []);
  return (
    <Stack>
      <Title order={2}>{t('events.title')}</Title>
      <Group align="flex-end">
        <TextInput label={t('events.from')} type="date" value={from} onChange={(e) => { setFrom(e.currentTarget.value); setPage(1); }} />
        <TextInput label={t('events.to')} type="date" value={to} onChange={(e) => { setTo(e.currentTarget.value); setPage(1); }} />
        <NativeSelect
          label={t('events.verdict')}
          value={verdict}
          onChange={(e) => { setVerdict(e.currentTarget.value as VerdictFilter); setPage(1); }}
          data={[{ value: '', label: t('events.any') }, ...VERDICTS.map((v) => ({ value: v, label: t(`events.${v}`) }))]}
        />
      </Group>
      <ChainCheck />
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.items.length === 0 ? (
        <Empty />
      ) : (
        <>
          <Table striped aria-label={t('events.title')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('events.at')}</Table.Th>
                <Table.Th>{t('events.employee')}</Table.Th>
                <Table.Th>{t('events.kind')}</Table.Th>
                <Table.Th>{t('events.verdict')}</Table.Th>
                <Table.Th>{t('events.reasons')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {query.data.items.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{formatDateTime(e.occurred_at, undefined, i18n.language)}</Table.Td>
                  <Table.Td>
                    <Link to={`/employees/${e.employee_id}`}>{nameOf(e.employee_id)}</Link>
                  </Table.Td>
                  <Table.Td>{e.kind === 'in' ? t('events.check_in') : e.kind === 'out' ? t('events.check_out') : e.kind}</Table.Td>
                  <Table.Td>
                    <Badge color={e.verdict === 'verified' ? 'green' : e.verdict === 'flagged' ? 'orange' : 'red'}>{t(`events.${e.verdict}`)}</Badge>
                    {e.status === 'flagged_accepted' && (
                      <Badge ml="xs" color="green" variant="light">
                        {t('events.accepted')}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{(e.reasons ?? []).join(', ')}</Text>
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

function ChainCheck() {
  const { t } = useTranslation();
  const verify = useMutation({ mutationFn: () => unwrap(api.GET('/api/v1/attendance/chain/verify', {})) });
  return (
    <Stack gap="xs">
      <Group>
        <Button variant="light" loading={verify.isPending} onClick={() => verify.mutate()}>
          {t('events.verify')}
        </Button>
      </Group>
      {verify.data && (
        <Alert role="status" color={verify.data.ok ? 'green' : 'red'}>
          {verify.data.ok
            ? t('events.chainOk', { count: verify.data.length })
            : t('events.chainBroken', { seq: verify.data.first_broken_event ?? '?' })}
        </Alert>
      )}
      {verify.isError && <ErrorState error={verify.error} />}
    </Stack>
  );
}
