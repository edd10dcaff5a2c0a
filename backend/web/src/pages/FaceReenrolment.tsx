// Settings → Face re-enrolment (administrators): after the default face model changed, start a
// run that re-computes every template of another model from its stored enrolment photo
// (`POST /api/v1/face/reenrolments`, a background job), follow its progress
// (`GET /api/v1/face/reenrolments/{id}`, re-read every second while it runs) and list the
// employees it could not re-enrol, with the reason. The server lists no runs: the last run
// started from this browser is remembered by id.

import { useCallback, useEffect, useState } from 'react';
import { Alert, Badge, Button, Card, Group, Progress, Stack, Text } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { RowsTable } from '../components/DataTable';
import { ErrorState, Loading } from '../components/States';
import { formatDateTime } from '../dates';
import { useEmployeeNames } from '../hooks/useEmployeeNames';
import { ApiError } from '../problem';
import { rememberedRun, rememberRun, runActive, runPercent } from '../reenrolment';

type Run = components['schemas']['Reenrolment'];
type Skipped = components['schemas']['Skipped'];

export function FaceReenrolment() {
  const { t } = useTranslation();
  const [runId, setRunId] = useState<string | null>(() => rememberedRun());
  const [running, setRunning] = useState(false);
  const forget = useCallback(() => {
    rememberRun(null);
    setRunId(null);
  }, []);
  const start = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/face/reenrolments')),
    onSuccess: (run) => {
      rememberRun(run.id);
      setRunId(run.id);
      setRunning(false);
    },
    onError: (e) => setRunning(e instanceof ApiError && e.code === 'reenrolment_running'),
  });
  return (
    <Stack>
      <Card withBorder component="section" aria-label={t('reenrol.title')}>
        <Stack>
          <Text size="sm">{t('reenrol.hint')}</Text>
          <Group>
            <Button onClick={() => start.mutate()} loading={start.isPending}>
              {t('reenrol.start')}
            </Button>
          </Group>
          {running && (
            <Alert color="yellow" role="alert">
              {t('reenrol.alreadyRunning')}
            </Alert>
          )}
          {start.isError && !running && <ErrorState error={start.error} />}
        </Stack>
      </Card>
      {runId && <RunView id={runId} onGone={forget} />}
    </Stack>
  );
}

function RunView({ id, onGone }: { id: string; onGone: () => void }) {
  const { t, i18n } = useTranslation();
  const run = useQuery({
    queryKey: ['reenrolment', id],
    queryFn: () => unwrap(api.GET('/api/v1/face/reenrolments/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && !runActive(q.state.data) ? false : 1000),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  });
  // A remembered run that is gone (another database, or purged): forget it.
  const gone = run.isError && run.error instanceof ApiError && run.error.status === 404;
  useEffect(() => {
    if (gone) onGone();
  }, [gone, onGone]);
  if (run.isPending) return <Loading />;
  if (run.isError) {
    if (gone) return null;
    return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  }
  const r: Run = run.data;
  const percent = runPercent(r);
  const stateColor = r.state === 'done' ? 'green' : r.state === 'failed' ? 'red' : 'blue';
  return (
    <Card withBorder component="section" aria-label={t('reenrol.run')}>
      <Stack>
        <Group>
          <Text fw={600}>{t('reenrol.run')}</Text>
          <Badge color={stateColor} role="status">
            {t(`reenrol.state.${r.state as 'queued' | 'running' | 'done' | 'failed'}`, { defaultValue: r.state })}
          </Badge>
        </Group>
        <Text size="sm">
          {t('reenrol.started', { at: formatDateTime(r.created_at, undefined, i18n.language) })}
          {r.finished_at && ` · ${t('reenrol.finished', { at: formatDateTime(r.finished_at, undefined, i18n.language) })}`}
        </Text>
        <Text size="sm">{t('reenrol.model', { model: r.model_id ?? t('reenrol.modelPending') })}</Text>
        <Progress value={percent} aria-label={t('reenrol.progress')} animated={runActive(r)} />
        <Text size="sm">
          {t('reenrol.counts', { done: r.employees_done, total: r.employees_total, templates: r.templates_reenrolled })}
        </Text>
        {r.error && (
          <Alert color="red" role="alert">
            {r.error}
          </Alert>
        )}
        <SkippedList skipped={r.skipped} finished={!runActive(r)} />
      </Stack>
    </Card>
  );
}

function SkippedList({ skipped, finished }: { skipped: readonly Skipped[]; finished: boolean }) {
  const { t } = useTranslation();
  const nameOf = useEmployeeNames(skipped.map((s) => s.employee_id));
  if (skipped.length === 0) return finished ? <Text size="sm">{t('reenrol.nobodySkipped')}</Text> : null;
  return (
    <RowsTable
      label={t('reenrol.skipped')}
      rows={skipped}
      rowKey={(s) => s.employee_id}
      columns={[
        { header: t('reenrol.employee'), cell: (s) => <Link to={`/employees/${s.employee_id}`}>{nameOf(s.employee_id)}</Link> },
        { header: t('reenrol.reason'), cell: (s) => t(`reenrol.reasons.${s.reason}`) + (s.detail ? ` (${s.detail})` : '') },
        { header: t('reenrol.templates'), cell: (s) => s.templates },
      ]}
    />
  );
}
