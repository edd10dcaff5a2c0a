import { useMemo, useState } from 'react';
import { Alert, Badge, Card, Checkbox, Code, NativeSelect, Radio, SimpleGrid, Stack, Switch, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Controller, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { useTab } from '../hooks/useTab';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { PagedTable, QueryView, usePagedQuery } from '../components/DataTable';
import { formatDateTime } from '../dates';
import { ApiError } from '../problem';
import { formToPolicy, policySchema, policyToForm } from '../settings';
import { SettingsCard, TrackingPolicyCard } from '../components/TrackingPolicy';
import { useFormMutation, zodResolver } from '../useApiForm';
import { FaceReenrolment } from './FaceReenrolment';

const TABS = ['policy', 'timesheet', 'tracking', 'map', 'telegram', 'face'] as const;

/** Administrators' settings: attendance policy, timesheet rule, tracking defaults, map style, the Telegram integration, face re-enrolment. */
export function SettingsPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useTab(TABS);
  return (
    <Stack>
      <Title order={2}>{t('settings.title')}</Title>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          {TABS.map((k) => (
            <Tabs.Tab key={k} value={k}>
              {t(`settings.${k}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="policy" pt="md">
          <PolicySettings />
        </Tabs.Panel>
        <Tabs.Panel value="timesheet" pt="md">
          <TimesheetSettings />
        </Tabs.Panel>
        <Tabs.Panel value="tracking" pt="md">
          <TrackingSettings />
        </Tabs.Panel>
        <Tabs.Panel value="map" pt="md">
          <MapSettings />
        </Tabs.Panel>
        <Tabs.Panel value="telegram" pt="md">
          <TelegramSettings />
        </Tabs.Panel>
        <Tabs.Panel value="face" pt="md">
          <FaceReenrolment />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function PolicySettings() {
  const policy = useQuery({ queryKey: ['attendance-policy'], queryFn: () => unwrap(api.GET('/api/v1/settings/attendance-policy')) });
  return <QueryView query={policy}>{(p) => <PolicyForm policy={p} />}</QueryView>;
}

function PolicyForm({ policy }: { policy: components['schemas']['AttendancePolicy'] }) {
  const { t } = useTranslation();
  const schema = useMemo(() => policySchema(t), [t]);
  const form = useForm({ resolver: zodResolver(schema), defaultValues: policyToForm(policy) });
  const { register, formState, control } = form;
  const err = formState.errors;
  const send = useFormMutation(
    form,
    ['liveness_mode', 'face_threshold', 'max_gps_accuracy_m', 'geofence_required'],
    (v) => unwrap(api.PUT('/api/v1/settings/attendance-policy', { body: formToPolicy(v) })),
    { invalidate: [['attendance-policy']], done: t('settings.policySaved'), reset: false },
  );
  return (
    <SettingsCard label={t('settings.policy')} send={send}>
        <Text size="sm" c="dimmed">
          {t('settings.policyHint')}
        </Text>
        <NativeSelect
          label={t('settings.liveness')}
          data={[
            { value: 'passive+challenge', label: t('settings.livenessChallenge') },
            { value: 'passive', label: t('settings.livenessPassive') },
          ]}
          error={err.liveness_mode?.message}
          {...register('liveness_mode')}
        />
        <TextInput label={t('settings.threshold')} description={t('settings.thresholdHint')} inputMode="decimal" error={err.face_threshold?.message} {...register('face_threshold')} />
        <TextInput label={t('settings.gpsAccuracy')} type="number" error={err.max_gps_accuracy_m?.message} {...register('max_gps_accuracy_m', { valueAsNumber: true })} />
        <TextInput label={t('settings.offlineDelay')} type="number" step="any" error={err.max_offline_delay_h?.message} {...register('max_offline_delay_h', { valueAsNumber: true })} />
        <Controller
          control={control}
          name="geofence_required"
          render={({ field }) => <Switch label={t('settings.geofenceRequired')} description={t('settings.geofenceRequiredHint')} checked={field.value} onChange={(e) => field.onChange(e.currentTarget.checked)} />}
        />
    </SettingsCard>
  );
}

function TimesheetSettings() {
  const settings = useQuery({ queryKey: ['timesheet-settings'], queryFn: () => unwrap(api.GET('/api/v1/settings/timesheet')) });
  return <QueryView query={settings}>{(s) => <TimesheetForm missing={s.missing_checkout} />}</QueryView>;
}

function TimesheetForm({ missing }: { missing: string }) {
  const { t } = useTranslation();
  const form = useForm({ defaultValues: { missing_checkout: missing } });
  const send = useFormMutation(form, ['missing_checkout'], (v) => unwrap(api.PUT('/api/v1/settings/timesheet', { body: v })), {
    invalidate: [['timesheet-settings']],
    done: t('settings.timesheetSaved'),
    reset: false,
  });
  return (
    <SettingsCard label={t('settings.timesheet')} send={send}>
        <Controller
          control={form.control}
          name="missing_checkout"
          render={({ field }) => (
            <Radio.Group label={t('settings.missingCheckout')} value={field.value} onChange={field.onChange} error={form.formState.errors.missing_checkout?.message}>
              <Stack mt="xs" gap="xs">
                <Radio value="flag" label={t('settings.missingFlag')} />
                <Radio value="close_at_shift_end" label={t('settings.missingClose')} />
              </Stack>
            </Radio.Group>
          )}
        />
        <Text size="sm" c="dimmed">
          {t('settings.timesheetHint')}
        </Text>
    </SettingsCard>
  );
}

function TrackingSettings() {
  const { t } = useTranslation();
  return (
    <TrackingPolicyCard
      label={t('settings.tracking')}
      hint={t('settings.trackingHint')}
      queryKey={['tracking-default']}
      load={() => unwrap(api.GET('/api/v1/settings/tracking-policy'))}
      save={(body) => unwrap(api.PUT('/api/v1/settings/tracking-policy', { body }))}
    />
  );
}

function MapSettings() {
  const map = useQuery({ queryKey: ['map-settings'], queryFn: () => unwrap(api.GET('/api/v1/settings/map')) });
  return <QueryView query={map}>{(m) => <MapForm styleUrl={m.style_url ?? ''} />}</QueryView>;
}

function MapForm({ styleUrl }: { styleUrl: string }) {
  const { t } = useTranslation();
  const form = useForm({ defaultValues: { style_url: styleUrl } });
  const send = useFormMutation(form, ['style_url'], (v) => unwrap(api.PUT('/api/v1/settings/map', { body: { style_url: v.style_url.trim() || null } })), {
    invalidate: [['map-settings']],
    done: t('settings.mapSaved'),
    reset: false,
  });
  return (
    <SettingsCard label={t('settings.map')} send={send}>
        <TextInput label={t('settings.mapStyle')} description={t('settings.mapStyleHint')} placeholder="https://…/style.json" error={form.formState.errors.style_url?.message} {...form.register('style_url')} />
    </SettingsCard>
  );
}

/** `telegram_not_configured`: the server runs without a bot token. */
export function isTelegramOff(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'telegram_not_configured';
}

function TelegramSettings() {
  const { t, i18n } = useTranslation();
  const status = useQuery({ queryKey: ['telegram-status'], queryFn: () => unwrap(api.GET('/api/v1/integrations/telegram')), retry: (n, e) => !isTelegramOff(e) && n < 2 });
  const [errorsOnly, setErrorsOnly] = useState(false);
  const log = usePagedQuery(['telegram-log', errorsOnly], (limit, offset) => unwrap(api.GET('/api/v1/integrations/telegram/log', { params: { query: { errors_only: errorsOnly || undefined, limit, offset } } })), 50);
  if (status.isError && isTelegramOff(status.error))
    return (
      <Alert color="gray" title={t('settings.telegramOff')} role="status">
        {t('settings.telegramOffHint')}
      </Alert>
    );
  return (
    <Stack>
      <QueryView query={status}>
        {(s) => (
          <Card withBorder aria-label={t('settings.telegramStatus')}>
            <Stack gap="xs">
              <Text>
                {t('settings.bot')}: {s.bot_username ? <Code>@{s.bot_username}</Code> : t('settings.botUnknown')}
              </Text>
              <Text size="sm">{t(`settings.updates.${s.updates === 'webhook' ? 'webhook' : 'long_polling'}`)}</Text>
              <SimpleGrid cols={{ base: 2, md: 4 }}>
                <Text size="sm">{t('settings.linked', { count: s.linked_employees })}</Text>
                <Text size="sm">{t('settings.blockedLinks', { count: s.blocked_links })}</Text>
                <Text size="sm">{t('settings.brokenLinks', { count: s.broken_links })}</Text>
                <Text size="sm">{t('settings.queued', { count: s.queued_messages })}</Text>
              </SimpleGrid>
            </Stack>
          </Card>
        )}
      </QueryView>
      <Title order={3}>{t('settings.telegramLog')}</Title>
      <Checkbox label={t('settings.errorsOnly')} checked={errorsOnly} onChange={(e) => { setErrorsOnly(e.currentTarget.checked); log.onPage(1); }} />
      <PagedTable
        {...log}
        label={t('settings.telegramLog')}
        rowKey={(r) => r.id}
        emptyText={t('settings.noCalls')}
        columns={[
          { header: t('audit.at'), cell: (r) => formatDateTime(r.at, undefined, i18n.language) },
          { header: t('settings.method'), cell: (r) => <Code>{r.method}</Code> },
          { header: t('settings.result'), cell: (r) => <Badge color={r.ok ? 'green' : 'red'}>{r.ok ? 'OK' : r.error_code ?? t('app.error')}</Badge> },
          { header: t('settings.chat'), cell: (r) => r.chat_id ?? '' },
          { header: t('settings.description'), cell: (r) => <Text size="sm">{r.description ?? ''}{r.retry_after ? ` (${t('settings.retryAfter', { s: r.retry_after })})` : ''}</Text> },
          { header: t('settings.duration'), cell: (r) => `${r.duration_ms} ms` },
        ]}
      />
    </Stack>
  );
}
