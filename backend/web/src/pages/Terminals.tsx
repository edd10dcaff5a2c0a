import { useState } from 'react';
import { Alert, Badge, Button, Checkbox, Group, Modal, NativeSelect, NumberInput, PasswordInput, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { DeleteButton, useRowAction } from '../components/Confirm';
import { PagedTable, QueryView, usePagedQuery } from '../components/DataTable';
import { ErrorState, FormErrors } from '../components/States';
import { formatDateTime } from '../dates';
import { terminalColor, terminalFormToCreate, terminalFormToUpdate, terminalTestView, type TerminalForm } from '../integrations';
import { useFormMutation } from '../useApiForm';

type Terminal = components['schemas']['Terminal'];

/** Hikvision face terminals (administrators): health, add / edit / delete, test the connection, poll now, the call log. */
export function TerminalsPage() {
  const { t } = useTranslation();
  const list = useQuery({
    queryKey: ['terminals'],
    queryFn: () => unwrap(api.GET('/api/v1/terminals')),
    // While a terminal waits for its first poll, look again soon.
    refetchInterval: (q) => (q.state.data?.some((x) => x.status === 'pending') ? 2000 : 30_000),
  });
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites')) });
  const [editing, setEditing] = useState<Terminal | 'new' | null>(null);
  const [logOf, setLogOf] = useState<Terminal | null>(null);
  const siteName = (id: string) => sites.data?.find((s) => s.id === id)?.name ?? id;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('terminals.title')}</Title>
        <Button onClick={() => setEditing('new')}>{t('terminals.add')}</Button>
      </Group>
      <QueryView query={list} isEmpty={(d) => d.length === 0} emptyText={t('terminals.none')}>
        {(rows) => (
          <Stack>
            {rows.map((x) => (
              <TerminalCard key={x.id} terminal={x} site={siteName(x.site_id)} onEdit={() => setEditing(x)} onLog={() => setLogOf(x)} />
            ))}
          </Stack>
        )}
      </QueryView>
      {editing && <TerminalDialog terminal={editing === 'new' ? null : editing} sites={sites.data ?? []} onClose={() => setEditing(null)} />}
      {logOf && <LogDialog terminal={logOf} onClose={() => setLogOf(null)} />}
    </Stack>
  );
}

function TerminalCard({ terminal: x, site, onEdit, onLog }: { terminal: Terminal; site: string; onEdit: () => void; onLog: () => void }) {
  const { t, i18n } = useTranslation();
  const when = (iso?: string | null) => (iso ? formatDateTime(iso, undefined, i18n.language) : '—');
  const poll = useRowAction(() => unwrap(api.POST('/api/v1/terminals/{id}/poll', { params: { path: { id: x.id } } })), [['terminals']], t('terminals.pollQueued'));
  const remove = useRowAction(() => unwrap(api.DELETE('/api/v1/terminals/{id}', { params: { path: { id: x.id } } })), [['terminals']], t('org.deleted'));
  // The test answers at once and changes nothing on the terminal's row: no refetch needed.
  const test = useMutation({ mutationFn: () => unwrap(api.POST('/api/v1/terminals/{id}/test', { params: { path: { id: x.id } } })) });
  const h = x.health;
  return (
    <Stack gap="xs" p="sm" style={{ border: '1px solid var(--mantine-color-gray-3)', borderRadius: 8 }} role="region" aria-label={x.name}>
      <Group justify="space-between">
        <Group>
          <Title order={4}>{x.name}</Title>
          <Badge color={terminalColor(x.status)}>{t(`terminals.status.${x.status}`, { defaultValue: x.status })}</Badge>
          {h.clock_skewed && <Badge color="orange">{t('terminals.clockSkewed')}</Badge>}
        </Group>
        <Group gap="xs">
          <Button size="xs" variant="light" loading={test.isPending} onClick={() => test.mutate()} aria-label={`${t('terminals.test')} ${x.name}`}>
            {t('terminals.test')}
          </Button>
          <Button size="xs" variant="default" loading={poll.isPending} onClick={() => poll.mutate(undefined)} aria-label={`${t('terminals.pollNow')} ${x.name}`}>
            {t('terminals.pollNow')}
          </Button>
          <Button size="xs" variant="default" onClick={onLog} aria-label={`${t('terminals.log')} ${x.name}`}>
            {t('terminals.log')}
          </Button>
          <Button size="xs" variant="default" onClick={onEdit} aria-label={`${t('employees.edit')} ${x.name}`}>
            {t('employees.edit')}
          </Button>
          <DeleteButton what={x.name} question={t('terminals.deleteQuestion', { name: x.name })} loading={remove.isPending} onConfirm={() => remove.mutate(undefined)} />
        </Group>
      </Group>
      {test.isError && <ErrorState error={test.error} />}
      {test.data && <TestResult result={test.data} />}
      {x.status === 'error' && x.last_error && (
        <Alert color="red" role="alert" title={t('terminals.connectionFailed')}>
          {x.last_error} ({when(x.last_error_at)})
        </Alert>
      )}
      {x.status === 'locked_out' && (
        <Alert color="red" role="alert" title={t('terminals.lockedOut')}>
          {t('terminals.lockedOutHint')}
        </Alert>
      )}
      <Text size="sm">
        {x.base_url} · {x.username} · {site} · {t(`terminals.directions.${x.direction}`)} · {t('terminals.every', { s: x.poll_interval_s })}
      </Text>
      <Text size="sm" c="dimmed">
        {[h.device_name, h.model, h.serial_number, h.firmware_version].filter(Boolean).join(' · ') || t('terminals.noInfo')}
        {h.clock_offset_s != null && ` · ${t('terminals.clockOffset', { s: h.clock_offset_s.toFixed(1) })}`}
      </Text>
      <Text size="sm">
        {t('terminals.lastPoll')}: {when(x.last_poll_at)} · {t('terminals.today', x.today)} · {t('terminals.people', { people: x.people, faces: x.faces })}
      </Text>
    </Stack>
  );
}

/** The outcome of a connection test in plain words, with what the terminal reported. */
function TestResult({ result }: { result: components['schemas']['TerminalTest'] }) {
  const { t } = useTranslation();
  const v = terminalTestView(result);
  return (
    <Alert color={v.ok ? 'green' : 'red'} role={v.ok ? 'status' : 'alert'} title={v.ok ? t('terminals.testOk') : t('terminals.testFailed')}>
      <Text size="sm">{t(v.key, { defaultValue: result.outcome })}</Text>
      {(v.facts || v.ms != null) && (
        <Text size="sm" c="dimmed">
          {[v.facts, v.ms != null ? t('terminals.roundTrip', { ms: v.ms }) : ''].filter(Boolean).join(' · ')}
        </Text>
      )}
    </Alert>
  );
}

function TerminalDialog({ terminal, sites, onClose }: { terminal: Terminal | null; sites: { id: string; name: string }[]; onClose: () => void }) {
  const { t } = useTranslation();
  const form = useForm<TerminalForm>({
    defaultValues: {
      name: terminal?.name ?? '',
      base_url: terminal?.base_url ?? 'http://',
      username: terminal?.username ?? 'admin',
      password: '',
      site_id: terminal?.site_id ?? sites[0]?.id ?? '',
      direction: terminal?.direction ?? 'both',
      poll_interval_s: terminal?.poll_interval_s ?? 30,
      enabled: terminal?.enabled ?? true,
    },
  });
  const { register, formState, control } = form;
  const send = useFormMutation(
    form,
    ['name', 'base_url', 'username', 'password', 'site_id', 'direction', 'poll_interval_s'],
    (v) =>
      terminal
        ? unwrap(api.PATCH('/api/v1/terminals/{id}', { params: { path: { id: terminal.id } }, body: terminalFormToUpdate(v) }))
        : unwrap(api.POST('/api/v1/terminals', { body: terminalFormToCreate(v) })),
    { done: t('app.saved'), invalidate: [['terminals']], onSuccess: onClose, codeFields: { terminal_name_taken: { field: 'name' } } },
  );
  const err = formState.errors;
  return (
    <Modal opened onClose={onClose} title={terminal ? `${t('employees.edit')} ${terminal.name}` : t('terminals.add')}>
      <Stack component="form" onSubmit={send.submit} aria-label={t('terminals.form')}>
        <TextInput label={t('terminals.name')} error={err.name?.message} {...register('name', { required: t('app.required') })} />
        <TextInput label={t('terminals.address')} description="http://192.168.1.64" error={err.base_url?.message} {...register('base_url', { required: t('app.required') })} />
        <Group grow>
          <TextInput label={t('terminals.username')} error={err.username?.message} {...register('username', { required: t('app.required') })} />
          <PasswordInput
            label={t('terminals.password')}
            description={terminal ? t('terminals.passwordKeep') : undefined}
            autoComplete="new-password"
            error={err.password?.message}
            {...register('password', { validate: (v) => (terminal || v ? true : t('app.required')) })}
          />
        </Group>
        <NativeSelect label={t('terminals.site')} data={sites.map((s) => ({ value: s.id, label: s.name }))} error={err.site_id?.message} {...register('site_id', { required: t('app.required') })} />
        <Group grow>
          <NativeSelect label={t('terminals.direction')} data={(['both', 'in', 'out'] as const).map((d) => ({ value: d, label: t(`terminals.directions.${d}`) }))} {...register('direction')} />
          <Controller
            control={control}
            name="poll_interval_s"
            rules={{ min: { value: 10, message: t('validation.range', { min: 10, max: 3600 }) }, max: { value: 3600, message: t('validation.range', { min: 10, max: 3600 }) } }}
            render={({ field }) => <NumberInput label={t('terminals.interval')} min={10} max={3600} error={err.poll_interval_s?.message} value={field.value} onChange={(v) => field.onChange(typeof v === 'number' ? v : 30)} />}
          />
        </Group>
        <Controller control={control} name="enabled" render={({ field }) => <Switch label={t('terminals.enabled')} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />} />
        <FormErrors errors={send.general} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t('app.cancel')}
          </Button>
          <Button type="submit" loading={send.pending}>
            {t('app.save')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function LogDialog({ terminal, onClose }: { terminal: Terminal; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [errorsOnly, setErrorsOnly] = useState(false);
  const log = usePagedQuery(['terminal-log', terminal.id, errorsOnly], (limit, offset) => unwrap(api.GET('/api/v1/terminals/{id}/log', { params: { path: { id: terminal.id }, query: { limit, offset, errors_only: errorsOnly } } })), 50);
  return (
    <Modal opened onClose={onClose} size="xl" title={`${t('terminals.log')}: ${terminal.name}`}>
      <Stack>
        <Checkbox label={t('settings.errorsOnly')} checked={errorsOnly} onChange={(e) => { setErrorsOnly(e.currentTarget.checked); log.onPage(1); }} />
        <PagedTable
          {...log}
          label={t('terminals.log')}
          rowKey={(c) => c.id}
          emptyText={t('settings.noCalls')}
          columns={[
            { header: t('events.at'), cell: (c) => formatDateTime(c.at, undefined, i18n.language) },
            { header: t('settings.method'), cell: (c) => c.operation },
            { header: t('settings.result'), cell: (c) => <Badge color={c.ok ? 'green' : 'red'}>{c.ok ? 'OK' : [c.http_status, c.sub_status].filter(Boolean).join(' ') || t('terminals.failed')}</Badge> },
            { header: t('settings.description'), cell: (c) => c.error ?? (c.count != null ? String(c.count) : '') },
            { header: t('settings.duration'), cell: (c) => `${c.duration_ms} ms` },
          ]}
        />
      </Stack>
    </Modal>
  );
}

