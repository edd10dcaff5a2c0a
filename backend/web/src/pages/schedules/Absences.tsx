import { useMemo, useState } from 'react';
import { Button, Card, Group, NativeSelect, Stack, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, QueryView, RowsTable } from '../../components/DataTable';
import { DeleteButton, useRowAction } from '../../components/Confirm';
import { EmployeePicker } from '../../components/EmployeePicker';
import { FormErrors } from '../../components/States';
import { isoDay } from '../../dates';
import { useEmployeeNames } from '../../hooks/useEmployeeNames';
import { pageOffset } from '../../paging';
import { ABSENCE_KINDS, absenceSchema } from '../../schedules';
import { useFormMutation, zodResolver } from '../../useApiForm';

const PAGE = 50;

/** Leave, sick leave and trips: administrators, and operators within their scope. */
export function AbsencesTab() {
  const { t } = useTranslation();
  const year = new Date().getFullYear();
  const [from, setFrom] = useState(`${year}-01-01`);
  const [to, setTo] = useState(`${year}-12-31`);
  const [page, setPage] = useState(1);
  // The server answers a plain list (no total): a full page means there may be another.
  const absences = useQuery({
    queryKey: ['absences', from, to, page],
    queryFn: () => unwrap(api.GET('/api/v1/absences', { params: { query: { from: from || undefined, to: to || undefined, limit: PAGE, offset: pageOffset(page, PAGE) } } })),
    placeholderData: keepPreviousData,
  });
  const nameOf = useEmployeeNames((absences.data ?? []).map((a) => a.employee_id));
  const remove = useRowAction((id: string) => unwrap(api.DELETE('/api/v1/absences/{id}', { params: { path: { id } } })), [['absences']], t('org.deleted'));
  return (
    <Stack>
      <Group>
        <TextInput label={t('events.from')} type="date" value={from} onChange={(e) => { setFrom(e.currentTarget.value); setPage(1); }} />
        <TextInput label={t('events.to')} type="date" value={to} onChange={(e) => { setTo(e.currentTarget.value); setPage(1); }} />
      </Group>
      <QueryView query={absences} isEmpty={(d) => d.length === 0 && page === 1} emptyText={t('schedules.noAbsences')}>
        {(rows) => (
          <>
            <RowsTable
              label={t('schedules.absences')}
              rows={rows}
              rowKey={(r) => r.id}
              columns={[
                { header: t('events.employee'), cell: (r) => <Link to={`/employees/${r.employee_id}`}>{nameOf(r.employee_id)}</Link> },
                { header: t('schedules.kind'), cell: (r) => t(`absence.${r.kind}`) },
                { header: t('events.from'), cell: (r) => r.from },
                { header: t('events.to'), cell: (r) => r.to },
                { header: t('schedules.note'), cell: (r) => r.note ?? '' },
                {
                  header: '',
                  cell: (r) => (
                    <DeleteButton what={`${nameOf(r.employee_id)} ${r.from}`} question={t('schedules.deleteAbsence')} loading={remove.isPending && remove.variables === r.id} onConfirm={() => remove.mutate(r.id)} />
                  ),
                },
              ]}
            />
            <Pager total={(page - 1) * PAGE + rows.length + (rows.length === PAGE ? 1 : 0)} pageSize={PAGE} page={page} onPage={setPage} />
          </>
        )}
      </QueryView>
      <NewAbsence />
    </Stack>
  );
}

function NewAbsence() {
  const { t } = useTranslation();
  const schema = useMemo(() => absenceSchema(t), [t]);
  const today = isoDay(new Date());
  const form = useForm({ resolver: zodResolver(schema), defaultValues: { employee_id: '', kind: 'annual_leave' as (typeof ABSENCE_KINDS)[number], from: today, to: today, note: '' } });
  const { register, formState, control } = form;
  const err = formState.errors;
  const send = useFormMutation(form, ['employee_id', 'kind', 'from', 'to', 'note'], (v) => unwrap(api.POST('/api/v1/absences', { body: { ...v, note: v.note.trim() || null } })), {
    invalidate: [['absences'], ['today']],
    done: t('schedules.absenceAdded'),
  });
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('schedules.newAbsence')}>
      <Stack>
        <Title order={3}>{t('schedules.newAbsence')}</Title>
        <Controller control={control} name="employee_id" render={({ field }) => <EmployeePicker value={field.value} onChange={field.onChange} error={err.employee_id?.message} />} />
        <Group grow align="flex-start">
          <NativeSelect label={t('schedules.kind')} data={ABSENCE_KINDS.map((k) => ({ value: k, label: t(`absence.${k}`) }))} error={err.kind?.message} {...register('kind')} />
          <TextInput label={t('events.from')} type="date" error={err.from?.message} {...register('from')} />
          <TextInput label={t('events.to')} type="date" error={err.to?.message} {...register('to')} />
        </Group>
        <TextInput label={t('schedules.note')} error={err.note?.message} {...register('note')} />
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('schedules.addAbsence')}
        </Button>
      </Stack>
    </Card>
  );
}
