// Reports: the period summary and the department summary on screen, and the T-13 and the
// summary / daily detail files, all over the same filters (a month or a from–to range, a
// department, a site). Every file is written in the background (`POST /api/v1/reports/downloads`):
// the screen follows the download's state and progress (re-read every second while it is queued
// or running) and saves the file when it is done, with a button to save it again; a long report
// never waits on one request. The period summary and the daily detail are paged, sorted and
// searched by the server, the department summary paged and sorted on the client, so a large scope
// never renders thousands of rows at once. The account's recent downloads are listed by the
// server, so they are still there after leaving the screen or a reload.

import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Card, Group, NativeSelect, Progress, SegmentedControl, SimpleGrid, Stack, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, download, unwrap } from '../api/client';
import type { components, paths } from '../api/schema';
import type { en } from '../i18n/resources';
import { type Column, PagedTable, Pager, QueryView, RowsTable } from '../components/DataTable';
import { ErrorState, FormErrors, Loading } from '../components/States';
import { currentMonth, formatDateTime, formatTime } from '../dates';
import { pageItems, pageOffset } from '../paging';
import { ApiError, fieldErrors } from '../problem';
import { DOWNLOAD_CHOICES, EMPTY_T13_HEADER, T13_HEADER_MAX, type DownloadChoice, type ReportFilter, type SortState, type T13Header, anyActive, ariaSort, choiceAllowed, choiceKey, defaultFilter, downloadActive, downloadBody, downloadPercent, fileSize, nextSort, periodProblem, reportQuery, sortParam, sortRows, t13HeaderProblem } from '../reportDownloads';

type ReportKey = 't13' | 'summaryXlsx' | 'summaryCsv' | 'dailyXlsx' | 'dailyCsv';
type SummaryRow = components['schemas']['SummaryOut'];
type DepartmentRow = components['schemas']['DepartmentSummaryOut'];
type DailyRow = components['schemas']['DailyRow'];
type ServerSort = NonNullable<NonNullable<paths['/api/v1/reports/summary']['get']['parameters']['query']>['sort']>;
type SummarySortKey = 'name' | 'department' | 'worked' | 'late' | 'early_leave' | 'absences' | 'overtime';
type DailySortKey = 'name' | 'date' | 'worked' | 'late' | 'early_leave' | 'absences' | 'overtime';
type DepartmentSortKey = 'department' | 'employees' | 'worked' | 'late' | 'absences' | 'overtime';

const SUMMARY_PAGE = 50;
const DAILY_PAGE = 50;
const DEPARTMENT_PAGE = 50;
const RECENT_PAGE = 10;
const FILTER_FIELDS = ['month', 'from', 'to', 'department_id', 'site_id', 'q', 'organisation', 'okpo', 'document_number'] as const;

const hours = (h: number) => h.toFixed(2);

type DayStatus = keyof typeof en.reports.dayStatus;

export function ReportsPage() {
  const { t, i18n } = useTranslation();
  const [filter, setFilter] = useState<ReportFilter>(() => defaultFilter(currentMonth(new Date())));
  const [current, setCurrent] = useState<string | null>(null);
  const [summaryPage, setSummaryPage] = useState(1);
  const [departmentPage, setDepartmentPage] = useState(1);
  const [dailyPage, setDailyPage] = useState(1);
  const [searchInput, setSearchInput] = useState('');
  const [header, setHeader] = useState<T13Header>(EMPTY_T13_HEADER);
  const headerProblem = t13HeaderProblem(header);
  const [search] = useDebouncedValue(searchInput.trim(), 300);
  const [summarySort, setSummarySort] = useState<SortState<SummarySortKey>>({ key: 'name', desc: false });
  const [dailySort, setDailySort] = useState<SortState<DailySortKey>>({ key: 'name', desc: false });
  const [departmentSort, setDepartmentSort] = useState<SortState<DepartmentSortKey>>({ key: 'department', desc: false });
  const queryClient = useQueryClient();
  const departments = useQuery({ queryKey: ['departments'], queryFn: () => unwrap(api.GET('/api/v1/departments', {})) });
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites', {})) });
  const problem = periodProblem(filter);
  const valid = problem === null;
  const query = reportQuery(filter);
  const q = search || undefined;
  const summary = useQuery({
    queryKey: ['report-summary', query, q, summarySort, summaryPage],
    queryFn: () =>
      unwrap(api.GET('/api/v1/reports/summary', { params: { query: { ...query, q, sort: sortParam(summarySort) as ServerSort, limit: SUMMARY_PAGE, offset: pageOffset(summaryPage, SUMMARY_PAGE) } } })),
    enabled: valid,
    placeholderData: keepPreviousData,
  });
  const daily = useQuery({
    queryKey: ['report-daily', query, q, dailySort, dailyPage],
    queryFn: () =>
      unwrap(api.GET('/api/v1/reports/daily', { params: { query: { ...query, q, sort: sortParam(dailySort) as ServerSort, limit: DAILY_PAGE, offset: pageOffset(dailyPage, DAILY_PAGE) } } })),
    enabled: valid,
    placeholderData: keepPreviousData,
  });
  const byDepartment = useQuery({
    queryKey: ['report-departments', query],
    queryFn: () => unwrap(api.GET('/api/v1/reports/departments', { params: { query } })),
    enabled: valid,
  });
  const start = useMutation({
    mutationFn: (c: DownloadChoice) => unwrap(api.POST('/api/v1/reports/downloads', { body: downloadBody(c, filter, header) })),
    onSuccess: (d) => {
      setCurrent(d.id);
      void queryClient.invalidateQueries({ queryKey: ['report-downloads'] });
    },
  });
  const change = (patch: Partial<ReportFilter>) => {
    setFilter((f) => ({ ...f, ...patch }));
    setSummaryPage(1);
    setDepartmentPage(1);
    setDailyPage(1);
  };
  // A column header that sorts its table: the same column again turns the order round.
  const sortable = <K extends string>(label: string, key: K, state: SortState<K>, set: (s: SortState<K>) => void, onSorted: () => void) => ({
    header: (
      <UnstyledButton fw={700} fz="sm" aria-label={t('reports.sortBy', { column: label })} onClick={() => { set(nextSort(state, key)); onSorted(); }}>
        {label} {state.key === key ? (state.desc ? '↓' : '↑') : ''}
      </UnstyledButton>
    ),
    sort: ariaSort(state, key),
  });
  const bySummary = (label: string, key: SummarySortKey) => sortable(label, key, summarySort, setSummarySort, () => setSummaryPage(1));
  const byDaily = (label: string, key: DailySortKey) => sortable(label, key, dailySort, setDailySort, () => setDailyPage(1));
  const byDepartment_ = (label: string, key: DepartmentSortKey) => sortable(label, key, departmentSort, setDepartmentSort, () => setDepartmentPage(1));
  // The server's field errors (of the summary, the department summary or a download) on the filters.
  const failure = [summary.error, daily.error, byDepartment.error, start.error].find((e) => e instanceof ApiError && (e.problem.errors ?? []).length > 0) as ApiError | undefined;
  const serverErrors = failure ? fieldErrors(failure.problem, FILTER_FIELDS) : { byField: {} as Record<string, string>, general: [] as string[] };
  const errorOf = (field: (typeof FILTER_FIELDS)[number]) =>
    problem?.field === field ? t(`reports.${problem.key}`) : headerProblem === field ? t('reports.tooLong', { max: T13_HEADER_MAX }) : serverErrors.byField[field];
  const headerInput = (label: string, key: keyof T13Header, field: 'organisation' | 'okpo' | 'document_number') => (
    <TextInput label={label} value={header[key]} onChange={(e) => setHeader({ ...header, [key]: e.currentTarget.value })} error={errorOf(field)} />
  );
  const summaryColumns: Column<SummaryRow>[] = [
    { ...bySummary(t('reports.col.employee'), 'name'), cell: (r) => r.name },
    { ...bySummary(t('reports.col.department'), 'department'), cell: (r) => r.department ?? '—' },
    { header: t('reports.col.daysWorked'), cell: (r) => r.days_worked },
    { ...bySummary(t('reports.col.workedHours'), 'worked'), cell: (r) => hours(r.worked_hours) },
    { ...bySummary(t('reports.col.late'), 'late'), cell: (r) => `${r.late_count} / ${r.late_minutes}` },
    { ...bySummary(t('reports.col.earlyLeave'), 'early_leave'), cell: (r) => `${r.early_leave_count} / ${r.early_leave_minutes}` },
    { ...bySummary(t('reports.col.overtime'), 'overtime'), cell: (r) => r.overtime_minutes },
    { header: t('reports.col.nightHours'), cell: (r) => hours(r.night_hours) },
    { ...bySummary(t('reports.col.absences'), 'absences'), cell: (r) => r.absences },
    { header: t('reports.col.leave'), cell: (r) => Object.values(r.leave_days).reduce((a, b) => a + b, 0) },
    { header: t('reports.col.missingCheckouts'), cell: (r) => r.missing_checkouts },
    { header: t('reports.col.pending'), cell: (r) => r.pending_events },
  ];
  const time = (iso: string | null | undefined) => (iso ? formatTime(iso, undefined, i18n.language) : '—');
  const dailyColumns: Column<DailyRow>[] = [
    { ...byDaily(t('reports.col.employee'), 'name'), cell: (r) => r.name },
    { ...byDaily(t('reports.col.date'), 'date'), cell: (r) => r.date },
    { header: t('reports.col.status'), cell: (r) => t(`reports.dayStatus.${r.status as DayStatus}`, { defaultValue: r.status }) },
    { header: t('reports.col.planned'), cell: (r) => (r.planned_start && r.planned_end ? `${time(r.planned_start)} – ${time(r.planned_end)}` : '—') },
    { header: t('reports.col.firstIn'), cell: (r) => time(r.first_in) },
    { header: t('reports.col.lastOut'), cell: (r) => time(r.last_out) },
    { ...byDaily(t('reports.col.workedMinutes'), 'worked'), cell: (r) => r.worked_minutes },
    { ...byDaily(t('reports.col.lateMinutes'), 'late'), cell: (r) => r.late_minutes },
    { ...byDaily(t('reports.col.earlyLeaveMinutes'), 'early_leave'), cell: (r) => r.early_leave_minutes },
    { ...byDaily(t('reports.col.overtime'), 'overtime'), cell: (r) => r.overtime_minutes },
    { ...byDaily(t('reports.col.absence'), 'absences'), cell: (r) => (r.absence ? t(`absence.${r.absence as 'annual_leave'}`, { defaultValue: r.absence }) : '—') },
    { header: t('reports.col.t13'), cell: (r) => r.t13_code },
  ];
  const departmentColumns: Column<DepartmentRow>[] = [
    { ...byDepartment_(t('reports.col.department'), 'department'), cell: (r) => r.department ?? t('reports.noDepartment') },
    { ...byDepartment_(t('reports.col.employees'), 'employees'), cell: (r) => r.employees },
    { header: t('reports.col.daysWorked'), cell: (r) => r.days_worked },
    { ...byDepartment_(t('reports.col.workedHours'), 'worked'), cell: (r) => hours(r.worked_hours) },
    { ...byDepartment_(t('reports.col.late'), 'late'), cell: (r) => `${r.late_count} / ${r.late_minutes}` },
    { header: t('reports.col.earlyLeaveMinutes'), cell: (r) => r.early_leave_minutes },
    { ...byDepartment_(t('reports.col.overtime'), 'overtime'), cell: (r) => r.overtime_minutes },
    { ...byDepartment_(t('reports.col.absences'), 'absences'), cell: (r) => r.absences },
    { header: t('reports.col.leave'), cell: (r) => r.leave_days },
    { header: t('reports.col.missingCheckouts'), cell: (r) => r.missing_checkouts },
  ];
  const departmentValue = (r: DepartmentRow): string | number | null => {
    switch (departmentSort.key) {
      case 'department':
        return r.department ?? null;
      case 'employees':
        return r.employees;
      case 'worked':
        return r.worked_minutes;
      case 'late':
        return r.late_minutes;
      case 'absences':
        return r.absences;
      case 'overtime':
        return r.overtime_minutes;
    }
  };
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
            <TextInput
              label={t('reports.search')}
              description={t('reports.searchHint')}
              value={searchInput}
              maxLength={100}
              onChange={(e) => {
                setSearchInput(e.currentTarget.value);
                setSummaryPage(1);
                setDailyPage(1);
              }}
              error={errorOf('q')}
            />
          </SimpleGrid>
          <SimpleGrid cols={{ base: 1, sm: 3 }} component="fieldset" aria-label={t('reports.t13Header')} style={{ border: 0, padding: 0, margin: 0 }}>
            {headerInput(t('reports.organisation'), 'organisation', 'organisation')}
            {headerInput(t('reports.okpo'), 'okpo', 'okpo')}
            {headerInput(t('reports.documentNumber'), 'documentNumber', 'document_number')}
          </SimpleGrid>
          <FormErrors errors={serverErrors.general} />
          <Group>
            {DOWNLOAD_CHOICES.map((c, i) => (
              <Button
                key={choiceKey(c)}
                variant={i === 0 ? 'filled' : 'light'}
                disabled={!valid || !choiceAllowed(c, filter) || (c.report === 't13' && headerProblem !== null)}
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
      <RecentDownloads />
      <ReportSection
        title={t('reports.summaryTitle')}
        query={valid ? summary : null}
        columns={summaryColumns}
        rowKey={(r) => r.employee_id}
        page={summaryPage}
        pageSize={SUMMARY_PAGE}
        onPage={setSummaryPage}
        total={(d, total) => t('reports.periodTotal', { from: d.from, to: d.to, total })}
      />
      <ReportSection
        title={t('reports.dailyTitle')}
        query={valid ? daily : null}
        columns={dailyColumns}
        rowKey={(r) => `${r.employee_id}/${r.date}`}
        page={dailyPage}
        pageSize={DAILY_PAGE}
        onPage={setDailyPage}
        total={(d, total) => t('reports.dailyTotal', { from: d.from, to: d.to, total })}
      />
      <Card withBorder component="section" aria-label={t('reports.departmentsTitle')}>
        <Stack>
          <Title order={3}>{t('reports.departmentsTitle')}</Title>
          {valid && (
            <QueryView query={byDepartment} isEmpty={(rows) => rows.length === 0} emptyText={t('reports.noEmployees')}>
              {(rows) => (
                <>
                  <RowsTable label={t('reports.departmentsTitle')} rows={pageItems(sortRows(rows, departmentValue, departmentSort.desc, i18n.language), departmentPage, DEPARTMENT_PAGE)} columns={departmentColumns} rowKey={(r) => r.department_id ?? 'none'} />
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

/** A server-paged report table over the period in its own section, the period and the count above it. */
function ReportSection<Row>({
  title,
  query,
  columns,
  rowKey,
  page,
  pageSize,
  onPage,
  total,
}: {
  title: string;
  /** Null while the filters are not valid. */
  query: UseQueryResult<{ from: string; to: string; items: Row[]; total: number }> | null;
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => string;
  page: number;
  pageSize: number;
  onPage: (p: number) => void;
  total: (period: { from: string; to: string }, total: number) => string;
}) {
  const { t } = useTranslation();
  return (
    <Card withBorder component="section" aria-label={title}>
      <Stack>
        <Title order={3}>{title}</Title>
        {query && (
          <PagedTable
            query={query}
            label={title}
            columns={columns}
            rowKey={rowKey}
            page={page}
            pageSize={pageSize}
            onPage={onPage}
            emptyText={t('reports.noEmployees')}
            summary={(n) => (
              <Text size="sm" c="dimmed">
                {query.data && total(query.data, n)}
              </Text>
            )}
          />
        )}
      </Stack>
    </Card>
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

/**
 * The account's recent downloads, newest first, as the server lists them (so they survive
 * leaving the screen and a reload): each with its report, period, state and progress, and a
 * button saving the file while it is kept. Re-read every second while one is being written.
 */
function RecentDownloads() {
  const { t, i18n } = useTranslation();
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['report-downloads', page],
    queryFn: () => unwrap(api.GET('/api/v1/reports/downloads', { params: { query: { limit: RECENT_PAGE, offset: pageOffset(page, RECENT_PAGE) } } })),
    refetchInterval: (q) => (anyActive(q.state.data?.items) ? 1000 : false),
    placeholderData: keepPreviousData,
  });
  const save = useMutation({
    mutationFn: ({ id, name }: { id: string; name: string }) => download(`/api/v1/reports/downloads/${id}/file`, name),
    onSuccess: (f) => notifications.show({ color: 'green', message: t('reports.downloaded', { name: f.name }) }),
  });
  type Listed = components['schemas']['ReportDownload'];
  const columns: Column<Listed>[] = [
    { header: t('reports.col.report'), cell: (r) => `${t(`reports.kind.${r.report as 'summary' | 'daily' | 't13'}`, { defaultValue: r.report })} · ${r.format.toUpperCase()}` },
    { header: t('reports.period'), cell: (r) => `${r.period_from} – ${r.period_to}` },
    { header: t('reports.col.requested'), cell: (r) => formatDateTime(r.created_at, undefined, i18n.language) },
    {
      header: t('reports.col.state'),
      cell: (r) => (
        <Badge color={r.state === 'done' ? 'green' : r.state === 'failed' || r.state === 'expired' ? 'red' : 'blue'}>{t(`reports.state.${r.state as 'done'}`, { defaultValue: r.state })}</Badge>
      ),
    },
    {
      header: t('reports.progress'),
      cell: (r) => (
        <Stack gap={2}>
          <Progress value={downloadPercent(r)} aria-label={t('reports.progressOf', { name: r.file_name ?? r.id })} animated={downloadActive(r)} />
          <Text size="xs">{t('reports.counts', { done: r.employees_done, total: r.employees_total })}</Text>
        </Stack>
      ),
    },
    {
      header: '',
      cell: (r) =>
        r.state === 'done' ? (
          <Button size="xs" variant="light" loading={save.isPending && save.variables?.id === r.id} onClick={() => save.mutate({ id: r.id, name: r.file_name ?? 'report' })}>
            {t('reports.save', { name: r.file_name ?? '' })}
          </Button>
        ) : r.state === 'expired' ? (
          <Text size="xs" c="dimmed">{t('reports.expiredHint')}</Text>
        ) : null,
    },
  ];
  return (
    <Card withBorder component="section" aria-label={t('reports.recentTitle')}>
      <Stack>
        <Title order={3}>{t('reports.recentTitle')}</Title>
        <PagedTable query={list} label={t('reports.recentTitle')} columns={columns} rowKey={(r) => r.id} page={page} pageSize={RECENT_PAGE} onPage={setPage} emptyText={t('reports.noDownloads')} />
        {save.isError && <ErrorState error={save.error} />}
        <Text size="xs" c="dimmed">
          {t('reports.recentHint')}
        </Text>
      </Stack>
    </Card>
  );
}
