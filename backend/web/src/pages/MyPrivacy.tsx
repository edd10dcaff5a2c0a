import { useMemo, useState } from 'react';
import { Badge, Button, Card, Group, NativeSelect, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { RowsTable, QueryView } from '../components/DataTable';
import { FormErrors } from '../components/States';
import { formatDateTime } from '../dates';
import { ExportCard, RestrictionsCard } from '../components/Privacy';
import { ProfilePhotoCard } from '../components/ProfilePhoto';
import { session, updateUser } from '../auth/session';
import { correctionSchema, describeCorrection, ERASURE_SCOPES, requestColor, type CorrectionForm, type ErasureScope } from '../privacy';
import { useFormMutation } from '../useApiForm';
import { zodResolver } from '../useApiForm';

/** My data (every employee): export, correction and erasure requests, restrictions, and the state of my requests. */
export function MyPrivacyPage() {
  const { t } = useTranslation();
  return (
    <Stack maw={900}>
      <Title order={2}>{t('privacy.myTitle')}</Title>
      <MyPhoto />
      <ExportCard
        title={t('privacy.export')}
        hint={t('privacy.exportHint')}
        button={t('privacy.download')}
        start={async (language) => `/api/v1/me/export/${(await unwrap(api.POST('/api/v1/me/export', { body: { language } }))).id}`}
      />
      <CorrectionCard />
      <ErasureCard />
      <RestrictionsCard
        queryKey={['me', 'restrictions']}
        load={() => unwrap(api.GET('/api/v1/me/restrictions'))}
        save={(body) => unwrap(api.PUT('/api/v1/me/restrictions', { body }))}
        labels={{ title: t('privacy.restrictions'), hint: t('privacy.restrictionsHint'), biometrics: t('privacy.restrictBiometrics'), tracking: t('privacy.restrictTracking') }}
      />
      <MyRequests />
    </Stack>
  );
}

function CorrectionCard() {
  const { t, i18n } = useTranslation();
  const schema = useMemo(() => correctionSchema(t), [t]);
  const events = useQuery({ queryKey: ['my-attendance'], queryFn: () => unwrap(api.GET('/api/v1/me/attendance')) });
  const form = useForm<CorrectionForm, unknown, ReturnType<typeof schema.parse>>({
    resolver: zodResolver(schema),
    defaultValues: { kind: 'punch', event_id: '', punch_kind: 'in', at: '', field: 'first_name', value: '', comment: '' },
  });
  const { register, formState, watch } = form;
  const kind = watch('kind');
  const send = useFormMutation(form, ['kind', 'event_id', 'punch_kind', 'at', 'field', 'value', 'comment'], (body) => unwrap(api.POST('/api/v1/me/correction-requests', { body })), {
    done: t('privacy.correctionFiled'),
    invalidate: [['me', 'correction-requests']],
  });
  const err = formState.errors;
  const punches = (events.data ?? []).filter((e) => e.kind === 'in' || e.kind === 'out' || e.kind === 'correction');
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('privacy.correction')}>
      <Stack>
        <Title order={3}>{t('privacy.correction')}</Title>
        <NativeSelect label={t('privacy.whatToCorrect')} data={[{ value: 'punch', label: t('privacy.aPunch') }, { value: 'field', label: t('privacy.myName') }]} {...register('kind')} />
        {kind === 'punch' ? (
          <>
            <NativeSelect
              label={t('privacy.punch')}
              error={err.event_id?.message}
              data={[
                { value: '', label: t('privacy.missingPunch') },
                ...punches.map((e) => ({ value: e.id, label: `${e.punch_kind === 'out' ? t('attendance.out') : t('attendance.in')} · ${formatDateTime(e.occurred_at, undefined, i18n.language)}` })),
              ]}
              {...register('event_id')}
            />
            <Group grow>
              <NativeSelect label={t('attendance.kind')} data={[{ value: 'in', label: t('attendance.in') }, { value: 'out', label: t('attendance.out') }]} error={err.punch_kind?.message} {...register('punch_kind')} />
              <TextInput label={t('privacy.correctTime')} type="datetime-local" error={err.at?.message} {...register('at')} />
            </Group>
          </>
        ) : (
          <Group grow>
            <NativeSelect label={t('privacy.field')} data={[{ value: 'first_name', label: t('privacy.fields.first_name') }, { value: 'last_name', label: t('privacy.fields.last_name') }]} error={err.field?.message} {...register('field')} />
            <TextInput label={t('privacy.correctValue')} error={err.value?.message} {...register('value')} />
          </Group>
        )}
        <Textarea label={t('privacy.whatIsWrong')} error={err.comment?.message} {...register('comment')} />
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('privacy.sendCorrection')}
        </Button>
      </Stack>
    </Card>
  );
}

function ErasureCard() {
  const { t } = useTranslation();
  const form = useForm<{ scope: ErasureScope; comment: string }>({ defaultValues: { scope: 'biometrics', comment: '' } });
  const send = useFormMutation(form, ['scope', 'comment'], (v) => unwrap(api.POST('/api/v1/me/erasure-requests', { body: { scope: v.scope, comment: v.comment.trim() || null } })), {
    done: t('privacy.erasureFiled'),
    invalidate: [['me', 'erasure-requests']],
  });
  return (
    <Card withBorder component="form" onSubmit={send.submit} aria-label={t('privacy.erasure')}>
      <Stack>
        <Title order={3}>{t('privacy.erasure')}</Title>
        <Text size="sm" c="dimmed">
          {t('privacy.erasureHint')}
        </Text>
        <NativeSelect label={t('privacy.erasureScope')} data={ERASURE_SCOPES.map((s) => ({ value: s, label: t(`privacy.scopes.${s}`) }))} {...form.register('scope')} />
        <Text size="sm">{t(`privacy.erases.${form.watch('scope')}`)}</Text>
        <Textarea label={t('privacy.noteForAdmin')} {...form.register('comment')} />
        <FormErrors errors={send.general} />
        <Button type="submit" color="red" variant="light" loading={send.pending}>
          {t('privacy.sendErasure')}
        </Button>
      </Stack>
    </Card>
  );
}

/** My own profile photo: the session carries its version, updated after a change. */
function MyPhoto() {
  const [user, setUser] = useState(session()?.user);
  if (!user) return null;
  return (
    <ProfilePhotoCard
      who={`${user.last_name} ${user.first_name}`}
      version={user.photo_updated_at}
      onChanged={(v) => {
        const next = { ...user, photo_updated_at: v };
        updateUser(next);
        setUser(next);
      }}
    />
  );
}

function MyRequests() {
  const { t, i18n } = useTranslation();
  const when = (iso: string) => formatDateTime(iso, undefined, i18n.language);
  const corrections = useQuery({ queryKey: ['me', 'correction-requests'], queryFn: () => unwrap(api.GET('/api/v1/me/correction-requests')) });
  const erasures = useQuery({ queryKey: ['me', 'erasure-requests'], queryFn: () => unwrap(api.GET('/api/v1/me/erasure-requests')) });
  return (
    <Card withBorder>
      <Stack>
        <Title order={3}>{t('privacy.myRequests')}</Title>
        <QueryView query={corrections} isEmpty={(d) => d.length === 0} emptyText={t('privacy.noCorrections')}>
          {(rows) => (
            <RowsTable
              label={t('privacy.myCorrections')}
              rows={rows}
              rowKey={(r) => r.id}
              columns={[
                { header: t('privacy.filed'), cell: (r) => when(r.created_at) },
                { header: t('privacy.request'), cell: (r) => describeCorrection(r, t, when) },
                { header: t('privacy.state'), cell: (r) => <Badge color={requestColor(r.state)}>{t(`privacy.states.${r.state}`, { defaultValue: r.state })}</Badge> },
                { header: t('privacy.answer'), cell: (r) => r.decision_comment ?? '' },
              ]}
            />
          )}
        </QueryView>
        <QueryView query={erasures} isEmpty={(d) => d.length === 0} emptyText={t('privacy.noErasures')}>
          {(rows) => (
            <RowsTable
              label={t('privacy.myErasures')}
              rows={rows}
              rowKey={(r) => r.id}
              columns={[
                { header: t('privacy.filed'), cell: (r) => when(r.requested_at) },
                { header: t('privacy.erasureScope'), cell: (r) => t(`privacy.scopes.${r.scope}`, { defaultValue: r.scope }) },
                { header: t('privacy.state'), cell: (r) => <Badge color={requestColor(r.state)}>{t(`privacy.states.${r.state}`, { defaultValue: r.state })}</Badge> },
                { header: t('privacy.answer'), cell: (r) => r.refusal_reason ?? '' },
              ]}
            />
          )}
        </QueryView>
      </Stack>
    </Card>
  );
}
