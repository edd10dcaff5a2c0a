// Reports: the T-13 and the summary / daily detail files of a month. Every file is written in
// the background (`POST /api/v1/reports/downloads`): the screen follows the download's state
// and progress (re-read every second while it is queued or running) and saves the file when it
// is done, with a button to save it again; a long report never waits on one request.

import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Card, Group, Progress, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, download, unwrap } from '../api/client';
import { ErrorState, Loading } from '../components/States';
import { currentMonth, formatDateTime } from '../dates';
import { DOWNLOAD_CHOICES, type DownloadChoice, choiceKey, downloadActive, downloadBody, downloadPercent, fileSize, isMonth } from '../reportDownloads';

type ReportKey = 't13' | 'summaryXlsx' | 'summaryCsv' | 'dailyXlsx' | 'dailyCsv';

export function ReportsPage() {
  const { t } = useTranslation();
  const [month, setMonth] = useState(currentMonth(new Date()));
  const [current, setCurrent] = useState<string | null>(null);
  const valid = isMonth(month);
  const start = useMutation({
    mutationFn: (c: DownloadChoice) => unwrap(api.POST('/api/v1/reports/downloads', { body: downloadBody(c, month) })),
    onSuccess: (d) => setCurrent(d.id),
  });
  return (
    <Stack>
      <Title order={2}>{t('reports.title')}</Title>
      <Card withBorder>
        <Stack>
          <TextInput label={t('reports.month')} placeholder="YYYY-MM" value={month} onChange={(e) => setMonth(e.currentTarget.value)} error={valid ? undefined : 'YYYY-MM'} />
          <Group>
            {DOWNLOAD_CHOICES.map((c, i) => (
              <Button
                key={choiceKey(c)}
                variant={i === 0 ? 'filled' : 'light'}
                disabled={!valid}
                loading={start.isPending && start.variables === c}
                onClick={() => start.mutate(c)}
              >
                {t(`reports.${choiceKey(c) as ReportKey}`)}
              </Button>
            ))}
          </Group>
          <Text size="sm" c="dimmed">
            {t('reports.background')}
          </Text>
          {start.isError && <ErrorState error={start.error} />}
        </Stack>
      </Card>
      {current && <DownloadView key={current} id={current} />}
    </Stack>
  );
}

/** One download: its state and progress, then the file saved (once by itself, again on request). */
function DownloadView({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const saved = useRef(false);
  const d = useQuery({
    queryKey: ['report-download', id],
    queryFn: () => unwrap(api.GET('/api/v1/reports/downloads/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && !downloadActive(q.state.data) ? false : 1000),
  });
  const save = useMutation({
    mutationFn: (name: string) => download(`/api/v1/reports/downloads/${id}/file`, name),
    onSuccess: (f) => notifications.show({ color: 'green', message: t('reports.downloaded', { name: f.name }) }),
  });
  const done = d.data?.state === 'done' ? d.data : null;
  useEffect(() => {
    if (done && !saved.current) {
      saved.current = true;
      save.mutate(done.file_name ?? 'report');
    }
  }, [done, save]);
  if (d.isPending) return <Loading />;
  if (d.isError) return <ErrorState error={d.error} onRetry={() => void d.refetch()} />;
  const r = d.data;
  const state = r.state as 'queued' | 'running' | 'done' | 'failed' | 'expired';
  const color = state === 'done' ? 'green' : state === 'failed' || state === 'expired' ? 'red' : 'blue';
  return (
    <Card withBorder component="section" aria-label={t('reports.download')}>
      <Stack>
        <Group>
          <Text fw={600}>{t(`reports.kind.${r.report as 'summary' | 'daily' | 't13'}`, { defaultValue: r.report })} · {r.period_from} – {r.period_to} · {r.format.toUpperCase()}</Text>
          <Badge color={color} role="status">
            {t(`reports.state.${state}`, { defaultValue: r.state })}
          </Badge>
        </Group>
        <Progress value={downloadPercent(r)} aria-label={t('reports.progress')} animated={downloadActive(r)} />
        <Text size="sm">{t('reports.counts', { done: r.employees_done, total: r.employees_total })}</Text>
        {r.error && (
          <Alert color="red" role="alert">
            {r.error}
          </Alert>
        )}
        {done && (
          <Group>
            <Button variant="light" loading={save.isPending} onClick={() => save.mutate(done.file_name ?? 'report')}>
              {t('reports.save', { name: done.file_name ?? '' })}
            </Button>
            <Text size="sm" c="dimmed">
              {fileSize(done.size_bytes ?? 0)}
              {done.expires_at && ` · ${t('reports.expires', { at: formatDateTime(done.expires_at, undefined, i18n.language) })}`}
            </Text>
          </Group>
        )}
        {save.isError && <ErrorState error={save.error} />}
      </Stack>
    </Card>
  );
}
