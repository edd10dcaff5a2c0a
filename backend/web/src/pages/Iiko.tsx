import { useState } from 'react';
import { Alert, Badge, Button, Card, Group, NumberInput, PasswordInput, Stack, Switch, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ConfirmButton, useRowAction } from '../components/Confirm';
import { PagedTable, QueryView, RowsTable, usePagedQuery } from '../components/DataTable';
import { ErrorState, FormErrors } from '../components/States';
import { formatDateTime, isoDay } from '../dates';
import { dayRangeToInstants, parseCodes, runChanges } from '../integrations';
import { ApiError } from '../problem';
import { useFormMutation } from '../useApiForm';

type RunReport = components['schemas']['RunReport'];
type Connection = components['schemas']['IikoConnection'];

/** iiko (administrators): the connection and its test, staff import, dismissals, schedules, attendance export and the run log. */
export function IikoPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useState<string | null>('connection');
  const conn = useQuery({
    queryKey: ['iiko'],
    queryFn: () => unwrap(api.GET('/api/v1/integrations/iiko')),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  });
  const notConfigured = conn.error instanceof ApiError && conn.error.code === 'iiko_not_configured';
  return (
    <Stack>
      <Title order={2}>{t('iiko.title')}</Title>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          {(['connection', 'staff', 'schedules', 'export', 'log'] as const).map((k) => (
            <Tabs.Tab key={k} value={k} disabled={k !== 'connection' && k !== 'log' && !conn.data}>
              {t(`iiko.tabs.${k}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="connection" pt="md">
          {conn.isPending ? null : conn.isError && !notConfigured ? (
            <ErrorState error={conn.error} onRetry={() => void conn.refetch()} />
          ) : (
            <ConnectionTab current={conn.data ?? null} />
          )}
        </Tabs.Panel>
        <Tabs.Panel value="staff" pt="md">
          <StaffTab />
        </Tabs.Panel>
        <Tabs.Panel value="schedules" pt="md">
          <PeriodRun kind="schedules" />
        </Tabs.Panel>
        <Tabs.Panel value="export" pt="md">
          <PeriodRun kind="export" />
        </Tabs.Panel>
        <Tabs.Panel value="log" pt="md">
          <RunLog />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

interface ConnectionForm {
  server_url: string;
  login: string;
  password: string;
  department_codes: string;
  employees: boolean;
  schedules: boolean;
  attendance: boolean;
  interval_s: number;
}

function ConnectionTab({ current }: { current: Connection | null }) {
  const { t } = useTranslation();
  const form = useForm<ConnectionForm>({
    defaultValues: {
      server_url: current?.server_url ?? 'https://',
      login: current?.login ?? '',
      password: '',
      department_codes: current?.department_codes.join(', ') ?? '',
      employees: current?.sync.employees ?? true,
      schedules: current?.sync.schedules ?? false,
      attendance: current?.sync.attendance ?? false,
      interval_s: current?.interval_s ?? 3600,
    },
  });
  const { register, formState, control } = form;
  const save = useFormMutation(
    form,
    ['server_url', 'login', 'password', 'department_codes', 'interval_s'],
    (v) =>
      unwrap(
        api.PUT('/api/v1/integrations/iiko', {
          body: {
            server_url: v.server_url.trim(),
            login: v.login.trim(),
            password: v.password || null,
            department_codes: parseCodes(v.department_codes),
            sync: { employees: v.employees, schedules: v.schedules, attendance: v.attendance },
            interval_s: v.interval_s,
          },
        }),
      ),
    { done: t('app.saved'), invalidate: [['iiko']], reset: false },
  );
  const test = useMutation({ mutationFn: () => unwrap(api.POST('/api/v1/integrations/iiko/test')) });
  const err = formState.errors;
  return (
    <Stack maw={640}>
      {!current && (
        <Alert color="gray" role="status">
          {t('iiko.notConfigured')}
        </Alert>
      )}
      <Card withBorder component="form" onSubmit={save.submit} aria-label={t('iiko.connection')}>
        <Stack>
          <TextInput label={t('iiko.serverUrl')} description="https://iiko.example:443" error={err.server_url?.message} {...register('server_url', { required: t('app.required') })} />
          <Group grow>
            <TextInput label={t('iiko.login')} error={err.login?.message} {...register('login', { required: t('app.required') })} />
            <PasswordInput
              label={t('iiko.password')}
              description={current ? t('terminals.passwordKeep') : undefined}
              autoComplete="new-password"
              error={err.password?.message}
              {...register('password', { validate: (v) => (current || v ? true : t('app.required')) })}
            />
          </Group>
          <TextInput label={t('iiko.departments')} description={t('iiko.departmentsHint')} error={err.department_codes?.message} {...register('department_codes')} />
          <Controller control={control} name="employees" render={({ field }) => <Switch label={t('iiko.syncEmployees')} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />} />
          <Controller control={control} name="schedules" render={({ field }) => <Switch label={t('iiko.syncSchedules')} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />} />
          <Controller control={control} name="attendance" render={({ field }) => <Switch label={t('iiko.syncAttendance')} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />} />
          <Controller
            control={control}
            name="interval_s"
            render={({ field }) => <NumberInput label={t('iiko.interval')} min={300} max={86400} error={err.interval_s?.message} value={field.value} onChange={(v) => field.onChange(typeof v === 'number' ? v : 3600)} />}
          />
          <FormErrors errors={save.general} />
          <Group>
            <Button type="submit" loading={save.pending}>
              {t('app.save')}
            </Button>
            <Button variant="light" disabled={!current} loading={test.isPending} onClick={() => test.mutate()}>
              {t('iiko.test')}
            </Button>
          </Group>
          {test.isError && <ErrorState error={test.error} />}
          {test.data &&
            (test.data.ok ? (
              <Alert color="green" role="status" title={t('iiko.testOk')}>
                {t('iiko.testCounts', { employees: test.data.employees ?? 0, roles: test.data.roles ?? 0 })}
              </Alert>
            ) : (
              <Alert color="red" role="alert" title={t('iiko.testFailed')}>
                <Text size="sm">{t(`iiko.errors.${test.data.error_code ?? 'other'}`, { defaultValue: test.data.error_code ?? '' })}</Text>
                <Text size="sm" c="dimmed">
                  {test.data.error}
                </Text>
              </Alert>
            ))}
        </Stack>
      </Card>
    </Stack>
  );
}

/** Counts and the per-record list of a run. */
function Report({ report, title }: { report: RunReport; title: string }) {
  const { t } = useTranslation();
  const c = report.counts;
  const rows = runChanges(report);
  return (
    <Card withBorder role="region" aria-label={title}>
      <Stack>
        <Group>
          <Title order={4}>{title}</Title>
          {report.dry_run && <Badge color="gray">{t('iiko.dryRun')}</Badge>}
        </Group>
        <Group gap="xs">
          <Badge color="green">{t('iiko.counts.created', { n: c.created })}</Badge>
          <Badge color="blue">{t('iiko.counts.updated', { n: c.updated })}</Badge>
          <Badge color="gray">{t('iiko.counts.skipped', { n: c.skipped })}</Badge>
          <Badge color="orange">{t('iiko.counts.conflicts', { n: c.conflicts })}</Badge>
          <Badge color="red">{t('iiko.counts.errors', { n: c.errors })}</Badge>
        </Group>
        {rows.length === 0 ? (
          <Text c="dimmed">{t('iiko.noChanges')}</Text>
        ) : (
          <RowsTable
            label={`${title}: ${t('iiko.changes')}`}
            rows={rows.map((r, i) => ({ ...r, i }))}
            rowKey={(r) => r.i}
            columns={[
              { header: 'iiko', cell: (r) => r.iiko_id },
              { header: t('iiko.change'), cell: (r) => t(`iiko.kinds.${r.kind}`, { defaultValue: r.kind }) },
              { header: t('iiko.detail'), cell: (r) => r.detail },
            ]}
          />
        )}
      </Stack>
    </Card>
  );
}

function StaffTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [report, setReport] = useState<RunReport | null>(null);
  const run = useMutation({
    mutationFn: (dry: boolean) => unwrap(api.POST('/api/v1/integrations/iiko/sync', { params: { query: { dry_run: dry } } })),
    onSuccess: (r) => {
      setReport(r);
      void qc.invalidateQueries({ queryKey: ['iiko-dismissals'] });
      void qc.invalidateQueries({ queryKey: ['iiko-log'] });
    },
  });
  const pending = useQuery({ queryKey: ['iiko-dismissals'], queryFn: () => unwrap(api.GET('/api/v1/integrations/iiko/dismissals')) });
  const confirm = useRowAction((ids: string[]) => unwrap(api.POST('/api/v1/integrations/iiko/dismissals', { body: { employee_ids: ids } })), [['iiko-dismissals'], ['employees']], t('iiko.dismissed'));
  return (
    <Stack>
      <Text size="sm" c="dimmed">
        {t('iiko.staffHint')}
      </Text>
      <Group>
        <Button variant="light" loading={run.isPending && run.variables === true} onClick={() => run.mutate(true)}>
          {t('iiko.preview')}
        </Button>
        <Button loading={run.isPending && run.variables === false} disabled={!report?.dry_run} onClick={() => run.mutate(false)}>
          {t('iiko.apply')}
        </Button>
      </Group>
      {run.isError && <ErrorState error={run.error} />}
      {report && <Report report={report} title={report.dry_run ? t('iiko.wouldChange') : t('iiko.changed')} />}
      <Title order={3}>{t('iiko.dismissals')}</Title>
      <QueryView query={pending} isEmpty={(d) => d.length === 0} emptyText={t('iiko.noDismissals')}>
        {(rows) => (
          <Stack>
            <RowsTable
              label={t('iiko.dismissals')}
              rows={rows}
              rowKey={(r) => r.employee_id}
              columns={[
                { header: t('employees.name'), cell: (r) => `${r.last_name} ${r.first_name}` },
                { header: 'iiko', cell: (r) => r.iiko_id },
                { header: t('iiko.goneSince'), cell: (r) => formatDateTime(r.gone_since) },
                {
                  header: '',
                  cell: (r) => (
                    <ConfirmButton label={`${t('iiko.confirmDismissal')} ${r.last_name} ${r.first_name}`} question={t('iiko.dismissQuestion', { name: `${r.last_name} ${r.first_name}` })} onConfirm={() => confirm.mutate([r.employee_id])}>
                      {t('iiko.confirmDismissal')}
                    </ConfirmButton>
                  ),
                },
              ]}
            />
            {rows.length > 1 && (
              <ConfirmButton label={t('iiko.confirmAll')} question={t('iiko.dismissAllQuestion', { count: rows.length })} loading={confirm.isPending} onConfirm={() => confirm.mutate(rows.map((r) => r.employee_id))}>
                {t('iiko.confirmAll')}
              </ConfirmButton>
            )}
          </Stack>
        )}
      </QueryView>
    </Stack>
  );
}

/** Schedule import or attendance export over a day range: preview, then apply. */
function PeriodRun({ kind }: { kind: 'schedules' | 'export' }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getFullYear(), today.getMonth(), 1)));
  const [to, setTo] = useState(isoDay(today));
  const [report, setReport] = useState<RunReport | null>(null);
  const [rangeError, setRangeError] = useState<string | null>(null);
  const run = useMutation({
    mutationFn: (dry_run: boolean) => {
      if (kind === 'schedules') return unwrap(api.POST('/api/v1/integrations/iiko/schedules', { params: { query: { from, to, dry_run } } }));
      const r = dayRangeToInstants(from, to)!;
      return unwrap(api.POST('/api/v1/integrations/iiko/export', { params: { query: { ...r, dry_run } } }));
    },
    onSuccess: (r) => {
      setReport(r);
      void qc.invalidateQueries({ queryKey: ['iiko-log'] });
    },
  });
  const go = (dry: boolean) => {
    if (!dayRangeToInstants(from, to) || to < from) {
      setRangeError(t('validation.endBeforeStart'));
      return;
    }
    setRangeError(null);
    run.mutate(dry);
  };
  return (
    <Stack>
      <Text size="sm" c="dimmed">
        {t(kind === 'schedules' ? 'iiko.schedulesHint' : 'iiko.exportHint')}
      </Text>
      <Group align="flex-end">
        <TextInput label={t('events.from')} type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        <TextInput label={t('events.to')} type="date" value={to} error={rangeError} onChange={(e) => setTo(e.currentTarget.value)} />
        <Button variant="light" loading={run.isPending && run.variables === true} onClick={() => go(true)}>
          {t('iiko.preview')}
        </Button>
        <Button loading={run.isPending && run.variables === false} disabled={!report?.dry_run} onClick={() => go(false)}>
          {t(kind === 'schedules' ? 'iiko.importSchedules' : 'iiko.sendAttendance')}
        </Button>
      </Group>
      {run.isError && <ErrorState error={run.error} />}
      {report && <Report report={report} title={report.dry_run ? t('iiko.wouldChange') : t('iiko.changed')} />}
    </Stack>
  );
}

function RunLog() {
  const { t, i18n } = useTranslation();
  const log = usePagedQuery(['iiko-log'], (limit, offset) => unwrap(api.GET('/api/v1/integrations/iiko/log', { params: { query: { limit, offset } } })), 50);
  return (
    <PagedTable
      {...log}
      label={t('iiko.tabs.log')}
      rowKey={(r) => r.id}
      emptyText={t('iiko.noRuns')}
      columns={[
        { header: t('events.at'), cell: (r) => formatDateTime(r.started_at, undefined, i18n.language) },
        { header: t('iiko.run'), cell: (r) => `${t(`iiko.runKinds.${r.kind}`, { defaultValue: r.kind })}${r.dry_run ? ` (${t('iiko.dryRun')})` : ''}` },
        { header: t('settings.result'), cell: (r) => <Badge color={r.ok ? 'green' : 'red'}>{r.ok ? 'OK' : (r.error_code ?? t('terminals.failed'))}</Badge> },
        { header: t('iiko.counted'), cell: (r) => `+${r.created} ~${r.updated} ⚠${r.conflicts} ✗${r.errors}` },
        { header: t('settings.description'), cell: (r) => r.error ?? '' },
      ]}
    />
  );
}
