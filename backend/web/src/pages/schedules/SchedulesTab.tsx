import { useMemo } from 'react';
import { Button, Card, Checkbox, Group, NativeSelect, SegmentedControl, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { QueryView, RowsTable } from '../../components/DataTable';
import { DeleteButton, useRowAction } from '../../components/Confirm';
import { FormErrors } from '../../components/States';
import { isoDay } from '../../dates';
import { describePattern, MAX_CYCLE, MAX_ROSTER_FORM_DAYS, patternOf, rosterDates, scheduleSchema, shiftTime, WEEKDAYS, type PatternKind } from '../../schedules';
import { useFormMutation, zodResolver } from '../../useApiForm';
import { useTemplates } from './Templates';

export function useSchedules() {
  return useQuery({ queryKey: ['schedules'], queryFn: () => unwrap(api.GET('/api/v1/schedules')) });
}

/** Schedules (weekly, rotating, roster, flexible): administrators create and delete. */
export function SchedulesTab({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const schedules = useSchedules();
  const templates = useTemplates();
  const byId = new Map((templates.data ?? []).map((tpl) => [tpl.id, tpl]));
  const remove = useRowAction((id: string) => unwrap(api.DELETE('/api/v1/schedules/{id}', { params: { path: { id } } })), [['schedules']], t('org.deleted'));
  return (
    <Stack>
      <QueryView query={schedules} isEmpty={(d) => d.length === 0} emptyText={t('schedules.noSchedules')}>
        {(rows) => (
          <RowsTable
            label={t('schedules.schedules')}
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { header: t('schedules.name'), cell: (r) => r.name },
              { header: t('schedules.kind'), cell: (r) => t(`schedules.kinds.${r.kind}`) },
              { header: t('schedules.pattern'), cell: (r) => <Text size="sm">{describePattern(r.pattern, byId, t)}</Text> },
              {
                header: '',
                cell: (r) =>
                  admin && (
                    <DeleteButton what={`${r.name}`} question={t('schedules.deleteSchedule', { name: r.name })} loading={remove.isPending && remove.variables === r.id} onConfirm={() => remove.mutate(r.id)} />
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      {admin && <NewSchedule templates={(templates.data ?? []).map((tpl) => ({ value: tpl.id, label: `${tpl.name} ${shiftTime(tpl)}` }))} />}
    </Stack>
  );
}

function NewSchedule({ templates }: { templates: { value: string; label: string }[] }) {
  const { t } = useTranslation();
  const schema = useMemo(() => scheduleSchema(t), [t]);
  const form = useForm({
    resolver: zodResolver(schema),
    defaultValues: { name: '', kind: 'weekly' as PatternKind, week: ['', '', '', '', '', '', ''], anchor: isoDay(new Date()), cycle: ['', '', '', ''], work_days: [true, true, true, true, true, false, false], minutes_per_day: 480, roster_from: isoDay(new Date()), roster: Array<string>(7).fill('') },
  });
  const { register, formState, watch, control, setValue } = form;
  const err = formState.errors;
  const kind = watch('kind');
  const cycle = watch('cycle');
  const roster = watch('roster');
  const rosterFrom = watch('roster_from');
  const dates = rosterDates(rosterFrom, roster.length);
  const send = useFormMutation(form, ['name', 'kind', 'week', 'anchor', 'cycle', 'work_days', 'minutes_per_day', 'roster_from', 'roster'], (v) => unwrap(api.POST('/api/v1/schedules', { body: { name: v.name, pattern: patternOf(v) } })), {
    invalidate: [['schedules']],
    done: t('schedules.scheduleCreated'),
  });
  const shifts = [{ value: '', label: t('schedules.off') }, ...templates];
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('schedules.newSchedule')}>
      <Stack>
        <Title order={3}>{t('schedules.newSchedule')}</Title>
        <TextInput label={t('schedules.scheduleName')} error={err.name?.message} {...register('name')} />
        <Controller
          control={control}
          name="kind"
          render={({ field }) => (
            <Stack gap={4}>
              <Text size="sm" fw={500} id="schedule-kind">
                {t('schedules.kind')}
              </Text>
              <SegmentedControl aria-labelledby="schedule-kind" value={field.value} onChange={(v) => field.onChange(v as PatternKind)} data={(['weekly', 'rotating', 'roster', 'flexible'] as const).map((k) => ({ value: k, label: t(`schedules.kinds.${k}`) }))} />
            </Stack>
          )}
        />
        {kind === 'weekly' && (
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            {WEEKDAYS.map((d, i) => (
              <NativeSelect key={d} label={t(`weekdaysLong.${d}`)} data={shifts} {...register(`week.${i}` as const)} />
            ))}
          </SimpleGrid>
        )}
        {kind === 'weekly' && err.week && <Text c="red" size="sm" role="alert">{err.week.message ?? err.week.root?.message}</Text>}
        {kind === 'rotating' && (
          <>
            <Group grow>
              <TextInput label={t('schedules.anchor')} description={t('schedules.anchorHint')} type="date" error={err.anchor?.message} {...register('anchor')} />
              <DaysInput label={t('schedules.cycleDays')} min={2} max={MAX_CYCLE} days={cycle} onChange={(d) => setValue('cycle', d)} error={err.cycle?.message ?? err.cycle?.root?.message} />
            </Group>
            <SimpleGrid cols={{ base: 2, md: 4 }}>
              {cycle.map((_, i) => (
                <NativeSelect key={i} label={t('schedules.cycleDay', { n: i + 1 })} data={shifts} {...register(`cycle.${i}` as const)} />
              ))}
            </SimpleGrid>
          </>
        )}
        {kind === 'roster' && (
          <>
            <Group grow>
              <TextInput label={t('schedules.rosterFrom')} type="date" error={err.roster_from?.message} {...register('roster_from')} />
              <DaysInput
                label={t('schedules.rosterLength')}
                description={t('schedules.rosterHint')}
                min={1}
                max={MAX_ROSTER_FORM_DAYS}
                days={roster}
                onChange={(d) => setValue('roster', d)}
                error={err.roster?.message ?? err.roster?.root?.message}
              />
            </Group>
            <SimpleGrid cols={{ base: 2, md: 4 }}>
              {dates.map((d, i) => (
                <NativeSelect key={d} label={`${t(`weekdays.${WEEKDAYS[(new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7]}`)} ${d}`} data={shifts} {...register(`roster.${i}` as const)} />
              ))}
            </SimpleGrid>
          </>
        )}
        {kind === 'flexible' && (
          <>
            <TextInput label={t('schedules.minutesPerDay')} type="number" error={err.minutes_per_day?.message} {...register('minutes_per_day', { valueAsNumber: true })} />
            <Group>
              {WEEKDAYS.map((d, i) => (
                <Checkbox key={d} label={t(`weekdaysLong.${d}`)} {...register(`work_days.${i}` as const)} />
              ))}
            </Group>
            {err.work_days && <Text c="red" size="sm" role="alert">{err.work_days.message ?? err.work_days.root?.message}</Text>}
          </>
        )}
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('schedules.createSchedule')}
        </Button>
      </Stack>
    </Card>
  );
}

/** How many days a cycle or a roster has: resizing keeps the shifts already chosen. */
function DaysInput({ days, onChange, min, max, ...rest }: { label: string; description?: string; min: number; max: number; days: string[]; onChange: (days: string[]) => void; error?: string }) {
  return (
    <TextInput
      {...rest}
      type="number"
      min={min}
      max={max}
      value={days.length}
      onChange={(e) => {
        const n = Math.min(max, Math.max(0, Number(e.currentTarget.value) || 0));
        onChange(Array.from({ length: n }, (_, i) => days[i] ?? ''));
      }}
    />
  );
}
