import { useMemo, useState } from 'react';
import { Badge, Button, Card, Group, NativeSelect, NumberInput, Stack, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { QueryView, RowsTable } from '../../components/DataTable';
import { DeleteButton, useRowAction } from '../../components/Confirm';
import { FormErrors } from '../../components/States';
import { HOLIDAY_KINDS, holidaySchema, WEEKDAYS } from '../../schedules';
import { useFormMutation, zodResolver } from '../../useApiForm';

type HolidayYear = components['schemas']['HolidayYear'];

/** The holiday calendar of a year: everyone reads it, administrators add and remove days. */
export function HolidaysTab({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const [year, setYear] = useState(() => new Date().getFullYear());
  const calendar = useQuery({ queryKey: ['holidays', year], queryFn: () => unwrap(api.GET('/api/v1/holidays', { params: { query: { year } } })) });
  // Removing a day writes the year back without it (the server has no per-day delete).
  const remove = useRowAction(({ y, date }: { y: HolidayYear; date: string }) => unwrap(api.PUT('/api/v1/holidays', { body: { year: y.year, entries: y.entries.filter((e) => e.date !== date) } })), [['holidays']], t('org.deleted'));
  return (
    <Stack>
      <NumberInput label={t('schedules.year')} value={year} min={2000} max={2100} maw={160} onChange={(v) => typeof v === 'number' && setYear(v)} />
      <QueryView query={calendar} isEmpty={(d) => d.entries.length === 0} emptyText={t('schedules.noHolidays')}>
        {(y) => (
          <RowsTable
            label={t('schedules.holidays')}
            rows={[...y.entries].sort((a, b) => a.date.localeCompare(b.date))}
            rowKey={(e) => e.date}
            columns={[
              { header: t('schedules.date'), cell: (e) => e.date },
              {
                header: t('schedules.kind'),
                cell: (e) => (
                  <Badge color={e.kind === 'working' ? 'blue' : 'grape'}>
                    {t(`schedules.holidayKinds.${e.kind}`)}
                    {e.working_as ? ` (${t(`weekdays.${WEEKDAYS[e.working_as - 1]}`)})` : ''}
                  </Badge>
                ),
              },
              { header: t('schedules.name'), cell: (e) => e.name ?? '' },
              {
                header: '',
                cell: (e) =>
                  admin && (
                    <DeleteButton what={`${e.date}`} question={t('schedules.deleteHoliday', { date: e.date })} onConfirm={() => remove.mutate({ y, date: e.date })} />
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      {admin && <NewHoliday />}
    </Stack>
  );
}

function NewHoliday() {
  const { t } = useTranslation();
  const schema = useMemo(() => holidaySchema(t), [t]);
  const form = useForm({ resolver: zodResolver(schema), defaultValues: { date: '', kind: 'holiday' as (typeof HOLIDAY_KINDS)[number], name: '', working_as: '' } });
  const { register, formState, watch } = form;
  const err = formState.errors;
  const send = useFormMutation(
    form,
    ['date', 'kind', 'name', 'working_as'],
    (v) => unwrap(api.POST('/api/v1/holidays', { body: { date: v.date, kind: v.kind, name: v.name.trim() || null, working_as: v.kind === 'working' ? Number(v.working_as) : null } })),
    { invalidate: [['holidays']], done: t('schedules.holidayAdded') },
  );
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('schedules.newHoliday')}>
      <Stack>
        <Title order={3}>{t('schedules.newHoliday')}</Title>
        <Group grow align="flex-start">
          <TextInput label={t('schedules.date')} type="date" error={err.date?.message} {...register('date')} />
          <NativeSelect label={t('schedules.kind')} data={HOLIDAY_KINDS.map((k) => ({ value: k, label: t(`schedules.holidayKinds.${k}`) }))} error={err.kind?.message} {...register('kind')} />
          {watch('kind') === 'working' && (
            <NativeSelect label={t('schedules.workedAs')} data={[{ value: '', label: '—' }, ...WEEKDAYS.map((d, i) => ({ value: String(i + 1), label: t(`weekdaysLong.${d}`) }))]} error={err.working_as?.message} {...register('working_as')} />
          )}
        </Group>
        <TextInput label={t('schedules.holidayName')} error={err.name?.message} {...register('name')} />
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('schedules.addHoliday')}
        </Button>
      </Stack>
    </Card>
  );
}
