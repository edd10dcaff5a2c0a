// The location tracking policy form, shared by the company default (Settings), a department's
// policy (Departments) and an employee's own (the employee's page), and the settings cards' frame.

import { useMemo, type ReactNode } from 'react';
import { Button, Card, Checkbox, Group, Stack, Switch, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import type { components } from '../api/schema';
import { ConfirmButton, useRowAction } from './Confirm';
import { QueryView } from './DataTable';
import { FormErrors } from './States';
import { formToTracking, trackingSchema, trackingSummary, trackingToForm } from '../settings';
import { WEEKDAYS } from '../schedules';
import { useFormMutation, zodResolver } from '../useApiForm';

type TrackingPolicy = components['schemas']['TrackingPolicy'];

/** A settings form's frame: the fields, errors that belong to none of them, Save and any other `actions`. */
export function SettingsCard({ label, send, children, readOnly, actions }: { label: string; send: { submit: () => void; general: string[]; pending: boolean }; children: ReactNode; readOnly?: boolean; actions?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={label} maw={640}>
      <Stack>
        {children}
        <FormErrors errors={send.general} />
        {!readOnly && (
          <Group>
            <Button type="submit" loading={send.pending}>
              {t('app.save')}
            </Button>
            {actions}
          </Group>
        )}
      </Stack>
    </Card>
  );
}

/** Removing an override: the button's name, the question it asks first, the notice when done. */
export interface RemovePolicy {
  label: string;
  question: string;
  done: string;
  run: () => Promise<unknown>;
}

/**
 * A tracking policy read with `load` and stored with `save` (then `invalidate`d, with `queryKey`).
 * `remove`: the override can be removed (a department's or an employee's, not the default).
 * `readOnly`: shown, not editable (operators).
 */
export function TrackingPolicyCard(props: {
  label: string;
  hint?: string;
  queryKey: readonly unknown[];
  load: () => Promise<TrackingPolicy>;
  save: (p: TrackingPolicy) => Promise<unknown>;
  invalidate?: readonly unknown[][];
  remove?: RemovePolicy;
  readOnly?: boolean;
}) {
  const policy = useQuery({ queryKey: props.queryKey, queryFn: props.load });
  return <QueryView query={policy}>{(p) => <TrackingForm key={JSON.stringify(p)} policy={p} {...props} />}</QueryView>;
}

function TrackingForm({
  policy,
  label,
  hint,
  queryKey,
  save,
  invalidate = [],
  remove,
  readOnly,
}: {
  policy: TrackingPolicy;
  label: string;
  hint?: string;
  queryKey: readonly unknown[];
  save: (p: TrackingPolicy) => Promise<unknown>;
  invalidate?: readonly unknown[][];
  remove?: RemovePolicy;
  readOnly?: boolean;
}) {
  const { t } = useTranslation();
  const schema = useMemo(() => trackingSchema(t), [t]);
  const form = useForm({ resolver: zodResolver(schema), defaultValues: trackingToForm(policy) });
  const { register, formState, control, watch } = form;
  const err = formState.errors;
  const send = useFormMutation(form, ['enabled', 'interval_s', 'max_accuracy_m', 'hours', 'time_zone', 'start', 'end', 'days'], (v) => save(formToTracking(v)), {
    invalidate: [[...queryKey], ...invalidate],
    done: t('settings.trackingSaved'),
    reset: false,
  });
  const removal = useRowAction(() => remove?.run() ?? Promise.resolve(), [[...queryKey], ...invalidate], remove?.done ?? '');
  const toggle = (name: 'enabled' | 'hours', label: string, description?: string) => (
    <Controller
      control={control}
      name={name}
      render={({ field }) => <Switch label={label} description={description} disabled={readOnly} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />}
    />
  );
  return (
    <SettingsCard
      label={label}
      send={send}
      readOnly={readOnly}
      actions={
        remove && (
          <ConfirmButton size="sm" variant="light" color="red" question={remove.question} loading={removal.isPending} onConfirm={() => removal.mutate(undefined)}>
            {remove.label}
          </ConfirmButton>
        )
      }
    >
      {hint && (
        <Text size="sm" c="dimmed">
          {hint}
        </Text>
      )}
      <fieldset disabled={readOnly} style={{ border: 0, padding: 0, margin: 0 }}>
        <Stack>
          {toggle('enabled', t('settings.trackingEnabled'))}
          <Group grow>
            <TextInput label={t('settings.trackingInterval')} type="number" error={err.interval_s?.message} {...register('interval_s', { valueAsNumber: true })} />
            <TextInput label={t('settings.trackingAccuracy')} type="number" error={err.max_accuracy_m?.message} {...register('max_accuracy_m', { valueAsNumber: true })} />
          </Group>
          {toggle('hours', t('settings.trackingHours'), t('settings.trackingHoursHint'))}
          {watch('hours') && (
            <>
              <Group grow>
                <TextInput label={t('sites.timeZone')} error={err.time_zone?.message} {...register('time_zone')} />
                <TextInput label={t('schedules.start')} type="time" error={err.start?.message} {...register('start')} />
                <TextInput label={t('schedules.end')} type="time" error={err.end?.message} {...register('end')} />
              </Group>
              <Group>
                {WEEKDAYS.map((d, i) => (
                  <Checkbox key={d} label={t(`weekdaysLong.${d}`)} {...register(`days.${i}` as const)} />
                ))}
              </Group>
              {err.days && (
                <Text c="red" size="sm" role="alert">
                  {err.days.message ?? err.days.root?.message}
                </Text>
              )}
            </>
          )}
        </Stack>
      </fieldset>
    </SettingsCard>
  );
}

/** The policy in effect, in one line (a live region: it follows saved changes). */
export function EffectivePolicy({ policy }: { policy: TrackingPolicy | undefined }) {
  const { t } = useTranslation();
  return (
    <Text role="status" aria-label={t('tracking.effective')}>
      {t('tracking.effective')}: {policy ? trackingSummary(policy, t) : '…'}
    </Text>
  );
}
