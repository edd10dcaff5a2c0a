import { useState } from 'react';
import { Badge, Code, Group, NativeSelect, Spoiler, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { ConfirmButton, useRowAction } from '../components/Confirm';
import { PagedTable, usePagedQuery } from '../components/DataTable';
import { formatDateTime } from '../dates';
import { canRetry, jobColor, JOB_STATES, type JobState } from '../settings';

/** Background jobs (administrators): dead ones by default, each retried or discarded after a confirmation. */
export function JobsPage() {
  const { t, i18n } = useTranslation();
  const [state, setState] = useState<JobState | ''>('dead');
  const [kindInput, setKindInput] = useState('');
  const [kind] = useDebouncedValue(kindInput.trim(), 300);
  const list = usePagedQuery(['jobs', state, kind], (limit, offset) => unwrap(api.GET('/api/v1/jobs', { params: { query: { state: state || undefined, kind: kind || undefined, limit, offset } } })), 50);
  const retry = useRowAction((id: string) => unwrap(api.POST('/api/v1/jobs/{id}/retry', { params: { path: { id } } })), [['jobs']], t('jobs.retried'));
  const discard = useRowAction((id: string) => unwrap(api.POST('/api/v1/jobs/{id}/discard', { params: { path: { id } } })), [['jobs']], t('jobs.discarded'));
  return (
    <Stack>
      <Title order={2}>{t('jobs.title')}</Title>
      <Group align="flex-end">
        <NativeSelect
          label={t('jobs.state')}
          value={state}
          onChange={(e) => { setState(e.currentTarget.value as JobState | ''); list.onPage(1); }}
          data={[{ value: '', label: t('events.any') }, ...JOB_STATES.map((s) => ({ value: s, label: t(`jobs.states.${s}`) }))]}
        />
        <TextInput label={t('jobs.kind')} placeholder="telegram.send" value={kindInput} onChange={(e) => { setKindInput(e.currentTarget.value); list.onPage(1); }} />
      </Group>
      <PagedTable
        {...list}
        label={t('jobs.title')}
        rowKey={(j) => j.id}
        emptyText={state === 'dead' ? t('jobs.noneDead') : undefined}
        columns={[
          { header: t('jobs.kind'), cell: (j) => <Code>{j.kind}</Code> },
          { header: t('jobs.state'), cell: (j) => <Badge color={jobColor(j.state)}>{t(`jobs.states.${j.state}`, { defaultValue: j.state })}</Badge> },
          { header: t('jobs.attempts'), cell: (j) => j.attempts },
          { header: t('jobs.updated'), cell: (j) => formatDateTime(j.updated_at, undefined, i18n.language) },
          {
            header: t('jobs.lastError'),
            cell: (j) =>
              j.last_error && (
                <Spoiler maxHeight={40} showLabel="…" hideLabel="↑">
                  <Text size="sm">{j.last_error}</Text>
                </Spoiler>
              ),
          },
          {
            header: '',
            cell: (j) =>
              canRetry(j.state) && (
                <Group gap="xs" wrap="nowrap">
                  <ConfirmButton variant="light" color="blue" label={`${t('jobs.retry')} ${j.kind}`} question={t('jobs.retryQuestion', { kind: j.kind })} loading={retry.isPending && retry.variables === j.id} onConfirm={() => retry.mutate(j.id)}>
                    {t('jobs.retry')}
                  </ConfirmButton>
                  <ConfirmButton variant="subtle" color="red" label={`${t('jobs.discard')} ${j.kind}`} question={t('jobs.discardQuestion', { kind: j.kind })} loading={discard.isPending && discard.variables === j.id} onConfirm={() => discard.mutate(j.id)}>
                    {t('jobs.discard')}
                  </ConfirmButton>
                </Group>
              ),
          },
        ]}
      />
    </Stack>
  );
}
