import { useState } from 'react';
import { Alert, Badge, Button, Group, NativeSelect, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorState } from '../components/States';
import { PagedTable, usePagedQuery } from '../components/DataTable';
import { formatDateTime, isoDay } from '../dates';
import { useEmployeeNames } from '../hooks/useEmployeeNames';

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
  const range = dayRange(from, to);
  const list = usePagedQuery(['events', range.from, range.to, verdict], (limit, offset) =>
    unwrap(api.GET('/api/v1/attendance', { params: { query: { ...range, verdict: verdict || undefined, limit, offset } } })), PAGE);
  const nameOf = useEmployeeNames(list.query.data?.items.map((e) => e.employee_id) ?? []);
  return (
    <Stack>
      <Title order={2}>{t('events.title')}</Title>
      <Group align="flex-end">
        <TextInput label={t('events.from')} type="date" value={from} onChange={(e) => { setFrom(e.currentTarget.value); list.onPage(1); }} />
        <TextInput label={t('events.to')} type="date" value={to} onChange={(e) => { setTo(e.currentTarget.value); list.onPage(1); }} />
        <NativeSelect
          label={t('events.verdict')}
          value={verdict}
          onChange={(e) => { setVerdict(e.currentTarget.value as VerdictFilter); list.onPage(1); }}
          data={[{ value: '', label: t('events.any') }, ...VERDICTS.map((v) => ({ value: v, label: t(`events.${v}`) }))]}
        />
      </Group>
      <ChainCheck />
      <PagedTable
        {...list}
        label={t('events.title')}
        rowKey={(e) => e.id}
        columns={[
          { header: t('events.at'), cell: (e) => formatDateTime(e.occurred_at, undefined, i18n.language) },
          { header: t('events.employee'), cell: (e) => <Link to={`/employees/${e.employee_id}`}>{nameOf(e.employee_id)}</Link> },
          { header: t('events.kind'), cell: (e) => (e.kind === 'in' ? t('events.check_in') : e.kind === 'out' ? t('events.check_out') : e.kind) },
          {
            header: t('events.verdict'),
            cell: (e) => (
              <>
                <Badge color={e.verdict === 'verified' ? 'green' : e.verdict === 'flagged' ? 'orange' : 'red'}>{t(`events.${e.verdict}`)}</Badge>
                {e.status === 'flagged_accepted' && (
                  <Badge ml="xs" color="green" variant="light">
                    {t('events.accepted')}
                  </Badge>
                )}
              </>
            ),
          },
          { header: t('events.reasons'), cell: (e) => <Text size="sm">{(e.reasons ?? []).join(', ')}</Text> },
        ]}
      />
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
