import { useMemo } from 'react';
import { Button, Card, Group, NativeSelect, Radio, Stack, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { QueryView, RowsTable } from '../../components/DataTable';
import { DeleteButton, useRowAction } from '../../components/Confirm';
import { EmployeePicker } from '../../components/EmployeePicker';
import { FormErrors } from '../../components/States';
import { isoDay } from '../../dates';
import { useEmployeeNames } from '../../hooks/useEmployeeNames';
import { assignmentSchema } from '../../schedules';
import { useFormMutation, zodResolver } from '../../useApiForm';
import { useSchedules } from './SchedulesTab';

export function useDepartments() {
  return useQuery({ queryKey: ['departments'], queryFn: () => unwrap(api.GET('/api/v1/departments', {})) });
}

/** Who works which schedule from when: administrators, and operators within their scope. */
export function AssignmentsTab() {
  const { t } = useTranslation();
  const assignments = useQuery({ queryKey: ['schedule-assignments'], queryFn: () => unwrap(api.GET('/api/v1/schedule-assignments', {})) });
  const schedules = useSchedules();
  const departments = useDepartments();
  const scheduleName = new Map((schedules.data ?? []).map((s) => [s.id, s.name]));
  const departmentName = new Map((departments.data ?? []).map((d) => [d.id, d.name]));
  const nameOf = useEmployeeNames((assignments.data ?? []).flatMap((a) => (a.employee_id ? [a.employee_id] : [])));
  const remove = useRowAction((id: string) => unwrap(api.DELETE('/api/v1/schedule-assignments/{id}', { params: { path: { id } } })), [['schedule-assignments']], t('org.deleted'));
  return (
    <Stack>
      <QueryView query={assignments} isEmpty={(d) => d.length === 0} emptyText={t('schedules.noAssignments')}>
        {(rows) => (
          <RowsTable
            label={t('schedules.assignments')}
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { header: t('schedules.schedule'), cell: (r) => scheduleName.get(r.schedule_id) ?? '…' },
              {
                header: t('schedules.assignedTo'),
                cell: (r) =>
                  r.employee_id ? (
                    <Link to={`/employees/${r.employee_id}`}>{nameOf(r.employee_id)}</Link>
                  ) : (
                    `${t('employees.department')}: ${departmentName.get(r.department_id ?? '') ?? '…'}`
                  ),
              },
              { header: t('schedules.validFrom'), cell: (r) => r.valid_from },
              { header: t('schedules.validTo'), cell: (r) => r.valid_to ?? t('schedules.openEnded') },
              {
                header: '',
                cell: (r) => (
                  <DeleteButton what={`${scheduleName.get(r.schedule_id) ?? ''} ${r.valid_from}`} question={t('schedules.deleteAssignment')} loading={remove.isPending && remove.variables === r.id} onConfirm={() => remove.mutate(r.id)} />
                ),
              },
            ]}
          />
        )}
      </QueryView>
      <NewAssignment
        schedules={(schedules.data ?? []).map((s) => ({ value: s.id, label: s.name }))}
        departments={(departments.data ?? []).map((d) => ({ value: d.id, label: d.name }))}
      />
    </Stack>
  );
}

function NewAssignment({ schedules, departments }: { schedules: { value: string; label: string }[]; departments: { value: string; label: string }[] }) {
  const { t } = useTranslation();
  const schema = useMemo(() => assignmentSchema(t), [t]);
  const form = useForm({
    resolver: zodResolver(schema),
    defaultValues: { schedule_id: '', target: 'employee' as 'employee' | 'department', employee_id: '', department_id: '', valid_from: isoDay(new Date()), valid_to: '' },
  });
  const { register, formState, watch, control } = form;
  const err = formState.errors;
  const target = watch('target');
  const send = useFormMutation(
    form,
    ['schedule_id', 'employee_id', 'department_id', 'valid_from', 'valid_to'],
    (v) =>
      unwrap(
        api.POST('/api/v1/schedule-assignments', {
          body: {
            schedule_id: v.schedule_id,
            employee_id: v.target === 'employee' ? v.employee_id : null,
            department_id: v.target === 'department' ? v.department_id : null,
            valid_from: v.valid_from,
            valid_to: v.valid_to || null,
          },
        }),
      ),
    { invalidate: [['schedule-assignments']], done: t('schedules.assigned') },
  );
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('schedules.newAssignment')}>
      <Stack>
        <Title order={3}>{t('schedules.newAssignment')}</Title>
        <NativeSelect label={t('schedules.schedule')} data={[{ value: '', label: '—' }, ...schedules]} error={err.schedule_id?.message} {...register('schedule_id')} />
        <Controller
          control={control}
          name="target"
          render={({ field }) => (
            <Radio.Group label={t('schedules.assignTo')} value={field.value} onChange={(v) => field.onChange(v as 'employee' | 'department')}>
              <Group mt={4}>
                <Radio value="employee" label={t('schedules.toEmployee')} />
                <Radio value="department" label={t('schedules.toDepartment')} />
              </Group>
            </Radio.Group>
          )}
        />
        {target === 'employee' ? (
          <Controller control={control} name="employee_id" render={({ field }) => <EmployeePicker value={field.value} onChange={field.onChange} error={err.employee_id?.message} />} />
        ) : (
          <NativeSelect label={t('employees.department')} data={[{ value: '', label: '—' }, ...departments]} error={err.department_id?.message} {...register('department_id')} />
        )}
        <Group grow>
          <TextInput label={t('schedules.validFrom')} type="date" error={err.valid_from?.message} {...register('valid_from')} />
          <TextInput label={t('schedules.validTo')} description={t('schedules.validToHint')} type="date" error={err.valid_to?.message} {...register('valid_to')} />
        </Group>
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('schedules.assign')}
        </Button>
      </Stack>
    </Card>
  );
}
