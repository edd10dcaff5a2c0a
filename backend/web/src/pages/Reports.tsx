// Reports: the period summary and the department summary on screen, and the T-13 and the
// summary / daily detail files, all over the same filters (a month or a from–to range, a
// department, a site). Every file is written in the background (`POST /api/v1/reports/downloads`):
// the screen follows the download's state and progress (re-read every second while it is queued
// or running) and saves the file when it is done, with a button to save it again; a long report
// never waits on one request. The period summary is paged by the server, the department summary
// on the client, so a large scope never renders thousands of rows at once.

import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Card, Group, NativeSelect, Progress, SegmentedControl, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, download, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { type Column, PagedTable, Pager, QueryView, RowsTable } from '../components/DataTable';
import { ErrorState, FormErrors, Loading } from '../components/States';
import { currentMonth, formatDateTime } from '../dates';
import { pageItems, pageOffset } from '../paging';
import { ApiError, fieldErrors } from '../problem';
import { DOWNLOAD_CHOICES, type DownloadChoice, type ReportFilter, choiceAllowed, choiceKey, defaultFilter, downloadActive, downloadBody, downloadPercent, fileSize, periodProblem, reportQuery } from '../reportDownloads';

type ReportKey = 't13' | 'summaryXlsx' | 'summaryCsv' | 'dailyXlsx' | 'dailyCsv';
type SummaryRow = components['schemas']['SummaryOut'];
type DepartmentRow = components['schemas']['DepartmentSummaryOut'];

const SUMMARY_PAGE = 50;
const DEPARTMENT_PAGE = 50;
const FILTER_FIELDS = ['month', 'from', 'to', 'department_id', 'site_id'] as const;

const hours = (h: number) => h.toFixed(2);

export function ReportsPage() {
  const { t } = useTranslation();
  const [filter, setFilter] = useState<ReportFilter>(() => defaultFilter(currentMonth(new Date())));
  const [current, setCurrent] = useState<string | null>(null);
  const [summaryPage, setSummaryPage] = useState(1);
  const [departmentPage, setDepartmentPage] = useState(1);
  const departments = useQuery({ queryKey: ['departments'], queryFn: () => unwrap(api.GET('/api/v1/departments', {})) });
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites', {})) });
  const problem = periodProblem(filter);
  const valid = problem === null;
  const query = reportQuery(filter);
  const summary = useQuery({
    queryKey: ['report-summary', query, summaryPage],
    queryFn: () => unwrap(api.GET('/api/v1/reports/summary', { params: { query: { ...query, limit: SUMMARY_PAGE, offset: pageOffset(summaryPage, SUMMARY_PAGE) } } })),
    enabled: valid,
    placeholderData: keepPreviousData,
  });
  const byDepartment = useQuery({
    queryKey: ['report-departments', query],
    queryFn: () => unwrap(api.GET('/api/v1/reports/departments', { params: { query } })),
    enabled: valid,
  });
  const start = useMutation({
    mutationFn: (c: DownloadChoice) => unwrap(api.POST('/api/v1/reports/downloads', { body: downloadBody(c, filter) })),
    onSuccess: (d) => setCurrent(d.id),
  });
  const change = (patch: Partial<ReportFilter>) => {
    setFilter((f) => ({ ...f, ...patch }));
    setSummaryPage(1);
    setDepartmentPage(1);
  };
  // The server's field errors (of the summary, the department summary or a download) on the filters.
  const failure = [summary.error, byDepartment.error, start.error].find((e) => e instanceof ApiError && (e.problem.errors ?? []).length > 0) as ApiError | undefined;
  const serverErrors = failure ? fieldErrors(failure.problem, FILTER_FIELDS) : { byField: {} as Record<string, string>, general: [] as string[] };
  const errorOf = (field: (typeof FILTER_FIELDS)[number]) => (problem?.field === field ? t(`reports.${problem.key}`) : serverErrors.byField[field]);
  const summaryColumns: Column<SummaryRow>[] = [
    { header: t('reports.col.employee'), cell: (r) => r.name },
    { header: t('reports.col.department'), cell: (r) => r.department ?? '—' },
    { header: t('reports.col.daysWorked'), cell: (r) => r.days_worked },
    { header: t('reports.col.workedHours'), cell: (r) => hours(r.worked_hours) },
    { header: t('reports.col.late'), cell: (r) => `${r.late_count} / ${r.late_minutes}` },
    { header: t('reports.col.earlyLeave'), cell: (r) => `${r.early_leave_count} / ${r.early_leave_minutes}` },
    { header: t('reports.col.overtime'), cell: (r) => r.overtime_minutes },
    { header: t('reports.col.nightHours'), cell: (r) => hours(r.night_hours) },
    { header: t('reports.col.absences'), cell: (r) => r.absences },
    { header: t('reports.col.leave'), cell: (r) => Object.values(r.leave_days).reduce((a, b) => a + b, 0) },
    { header: t('reports.col.missingCheckouts'), cell: (r) => r.missing_checkouts },
    { header: t('reports.col.pending'), cell: (r) => r.pending_events },
  ];
  const departmentColumns: Column<DepartmentRow>[] = [
    { header: t('reports.col.department'), cell: (r) => r.department ?? t('reports.noDepartment') },
    { header: t('reports.col.employees'), cell: (r) => r.employees },
    { header: t('reports.col.daysWorked'), cell: (r) => r.days_worked },
    { header: t('reports.col.workedHours'), cell: (r) => hours(r.worked_hours) },
    { header: t('reports.col.late'), cell: (r) => `${r.late_count} / ${r.late_minutes}` },
    { header: t('reports.col.earlyLeaveMinutes'), cell: (r) => r.early_leave_minutes },
    { header: t('reports.col.overtime'), cell: (r) => r.overtime_minutes },
    { header: t('reports.col.absences'), cell: (r) => r.absences },
    { header: t('reports.col.leave'), cell: (r) => r.leave_days },
    { header: t('reports.col.missingCheckouts'), cell: (r) => r.missing_checkouts },
  ];
  return (
    <Stack>
      <Title order={2}>{t('reports.title')}</Title>
      <Card withBorder component="section" aria-label={t('reports.filters')}>
        <Stack>
          <SegmentedControl
            aria-label={t('reports.period')}
            value={filter.period}
            onChange={(v) => change({ period: v as ReportFilter['period'] })}
            data={[
              { value: 'month', label: t('reports.byMonth') },
              { value: 'range', label: t('reports.byDates') },
            ]}
          />
          <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
            {filter.period === 'month' ? (
              <TextInput label={t('reports.month')} placeholder="YYYY-MM" value={filter.month} onChange={(e) => change({ month: e.currentTarget.value })} error={errorOf('month')} />
            ) : (
              <>
                <TextInput type="date" label={t('reports.from')} value={filter.from} onChange={(e) => change({ from: e.currentTarget.value })} error={errorOf('from')} />
                <TextInput type="date" label={t('reports.to')} value={filter.to} onChange={(e) => change({ to: e.currentTarget.value })} error={errorOf('to')} />
              </>
            )}
            <NativeSelect
              label={t('reports.department')}
              value={filter.departmentId}
              onChange={(e) => change({ departmentId: e.currentTarget.value })}
              error={errorOf('department_id')}
              data={[{ value: '', label: t('reports.all') }, ...(departments.data ?? []).map((d) => ({ value: d.id, label: d.name }))]}
            />
            <NativeSelect
              label={t('reports.site')}
              value={filter.siteId}
              onChange={(e) => change({ siteId: e.currentTarget.value })}
              error={errorOf('site_id')}
              data={[{ value: '', label: t('reports.all') }, ...(sites.data ?? []).map((s) => ({ value: s.id, label: s.name }))]}
            />
          </SimpleGrid>
          <FormErrors errors={serverErrors.general} />
          <Group>
            {DOWNLOAD_CHOICES.map((c, i) => (
              <Button
                key={choiceKey(c)}
                variant={i === 0 ? 'filled' : 'light'}
                disabled={!valid || !choiceAllowed(c, filter)}
                title={choiceAllowed(c, filter) ? undefined : t('reports.t13MonthOnly')}
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
          {start.isError && !(failure && failure === start.error) && <ErrorState error={start.error} />}
        </Stack>
      </Card>
      {current && <DownloadView key={current} id={current} />}
      <Card withBorder component="section" aria-label={t('reports.summaryTitle')}>
        <Stack>
          <Title order={3}>{t('reports.summaryTitle')}</Title>
          {valid && (
            <PagedTable
              query={summary}
              label={t('reports.summaryTitle')}
              columns={summaryColumns}
              rowKey={(r) => r.employee_id}
              page={summaryPage}
              pageSize={SUMMARY_PAGE}
              onPage={setSummaryPage}
              emptyText={t('reports.noEmployees')}
              summary={(total) => (
                <Text size="sm" c="dimmed">
                  {summary.data && t('reports.periodTotal', { from: summary.data.from, to: summary.data.to, total })}
                </Text>
              )}
            />
          )}
        </Stack>
      </Card>
      <Card withBorder component="section" aria-label={t('reports.departmentsTitle')}>
        <Stack>
          <Title order={3}>{t('reports.departmentsTitle')}</Title>
          {valid && (
            <QueryView query={byDepartment} isEmpty={(rows) => rows.length === 0} emptyText={t('reports.noEmployees')}>
              {(rows) => (
                <>
                  <RowsTable label={t('reports.departmentsTitle')} rows={pageItems(rows, departmentPage, DEPARTMENT_PAGE)} columns={departmentColumns} rowKey={(r) => r.department_id ?? 'none'} />
                  {rows.length > DEPARTMENT_PAGE && <Pager total={rows.length} pageSize={DEPARTMENT_PAGE} page={departmentPage} onPage={setDepartmentPage} />}
                </>
              )}
            </QueryView>
          )}
        </Stack>
      </Card>
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
