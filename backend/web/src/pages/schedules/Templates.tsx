import { useMemo } from 'react';
import { Badge, Button, Card, Group, NativeSelect, Stack, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { QueryView, RowsTable } from '../../components/DataTable';
import { DeleteButton, useRowAction } from '../../components/Confirm';
import { FormErrors } from '../../components/States';
import { formatMinutes, shiftTime, templateSchema } from '../../schedules';
import { useFormMutation, zodResolver } from '../../useApiForm';

export function useTemplates() {
  return useQuery({ queryKey: ['shift-templates'], queryFn: () => unwrap(api.GET('/api/v1/shift-templates')) });
}

/** Shift templates: everyone on staff reads them, administrators create and delete them. */
export function TemplatesTab({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const templates = useTemplates();
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites')) });
  const siteName = new Map((sites.data ?? []).map((s) => [s.id, s.name]));
  const remove = useRowAction((id: string) => unwrap(api.DELETE('/api/v1/shift-templates/{id}', { params: { path: { id } } })), [['shift-templates']], t('org.deleted'));
  return (
    <Stack>
      <QueryView query={templates} isEmpty={(d) => d.length === 0} emptyText={t('schedules.noTemplates')}>
        {(rows) => (
          <RowsTable
            label={t('schedules.templates')}
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { header: t('schedules.name'), cell: (r) => r.name },
              {
                header: t('schedules.time'),
                cell: (r) => (
                  <Group gap="xs">
                    {shiftTime(r)}
                    {r.crosses_midnight && <Badge variant="light">{t('schedules.overnight')}</Badge>}
                  </Group>
                ),
              },
              { header: t('schedules.paid'), cell: (r) => formatMinutes(Math.max(0, r.nominal_minutes - r.unpaid_break_minutes), t) },
              { header: t('schedules.break'), cell: (r) => r.unpaid_break_minutes },
              { header: t('schedules.lateGrace'), cell: (r) => r.late_grace_minutes },
              { header: t('schedules.site'), cell: (r) => (r.site_id ? siteName.get(r.site_id) ?? '…' : '—') },
              {
                header: '',
                cell: (r) =>
                  admin && (
                    <DeleteButton what={`${r.name}`} question={t('schedules.deleteTemplate', { name: r.name })} loading={remove.isPending && remove.variables === r.id} onConfirm={() => remove.mutate(r.id)} />
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      {admin && <NewTemplate sites={(sites.data ?? []).map((s) => ({ value: s.id, label: s.name }))} />}
    </Stack>
  );
}

function NewTemplate({ sites }: { sites: { value: string; label: string }[] }) {
  const { t } = useTranslation();
  const schema = useMemo(() => templateSchema(t), [t]);
  const form = useForm({
    resolver: zodResolver(schema),
    defaultValues: { name: '', start: '09:00', end: '18:00', unpaid_break_minutes: 60, late_grace_minutes: 5, early_leave_grace_minutes: 5, checkin_window_minutes: 60, site_id: '' },
  });
  const { register, formState } = form;
  const err = formState.errors;
  const send = useFormMutation(
    form,
    ['name', 'start', 'end', 'unpaid_break_minutes', 'late_grace_minutes', 'early_leave_grace_minutes', 'checkin_window_minutes', 'site_id'],
    ({ site_id, ...v }) => unwrap(api.POST('/api/v1/shift-templates', { body: { ...v, site_id: site_id || null } })),
    { invalidate: [['shift-templates']], done: t('schedules.templateCreated') },
  );
  const num = { valueAsNumber: true } as const;
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('schedules.newTemplate')}>
      <Stack>
        <Title order={3}>{t('schedules.newTemplate')}</Title>
        <TextInput label={t('schedules.templateName')} error={err.name?.message} {...register('name')} />
        <Group grow>
          <TextInput label={t('schedules.start')} type="time" error={err.start?.message} {...register('start')} />
          <TextInput label={t('schedules.end')} type="time" description={t('schedules.endHint')} error={err.end?.message} {...register('end')} />
        </Group>
        <Group grow>
          <TextInput label={t('schedules.breakMinutes')} type="number" error={err.unpaid_break_minutes?.message} {...register('unpaid_break_minutes', num)} />
          <TextInput label={t('schedules.lateGraceMinutes')} type="number" error={err.late_grace_minutes?.message} {...register('late_grace_minutes', num)} />
          <TextInput label={t('schedules.earlyGraceMinutes')} type="number" error={err.early_leave_grace_minutes?.message} {...register('early_leave_grace_minutes', num)} />
          <TextInput label={t('schedules.checkinWindow')} type="number" error={err.checkin_window_minutes?.message} {...register('checkin_window_minutes', num)} />
        </Group>
        <NativeSelect label={t('schedules.site')} data={[{ value: '', label: t('schedules.anySite') }, ...sites]} error={err.site_id?.message} {...register('site_id')} />
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('schedules.createTemplate')}
        </Button>
      </Stack>
    </Card>
  );
}
