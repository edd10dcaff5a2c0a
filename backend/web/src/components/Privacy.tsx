import { useState } from 'react';
import { Alert, Badge, Button, Card, Group, NativeSelect, Stack, Switch, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, download, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { LANGUAGES, type Language } from '../i18n';
import { QueryView } from './DataTable';

type Restrictions = components['schemas']['Restrictions'];
type RestrictionChange = components['schemas']['RestrictionChange'];

/**
 * An export of someone's data as a ZIP, prepared in the background: `start` queues it (the
 * caller's own, or an employee's on their behalf) and answers the path its file appears at.
 */
export function ExportCard({ title, hint, button, start }: { title: string; hint: string; button: string; start: (language: Language) => Promise<string> }) {
  const { t, i18n } = useTranslation();
  const [lang, setLang] = useState<Language>((LANGUAGES.find((l) => l.code === i18n.language)?.code ?? 'en') as Language);
  const run = useMutation({
    mutationFn: async () => download(await start(lang), 'faceid-export.zip', { waitWhile202: { everyMs: 1000, attempts: 600 } }),
    onSuccess: (f) => notifications.show({ color: 'green', message: t('reports.downloaded', { name: f.name }) }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Card withBorder component="section" aria-label={title}>
      <Stack>
        <Title order={3}>{title}</Title>
        <Text size="sm" c="dimmed">
          {hint}
        </Text>
        <Group align="flex-end">
          <NativeSelect label={t('privacy.exportLanguage')} value={lang} onChange={(e) => setLang(e.currentTarget.value as Language)} data={LANGUAGES.map((l) => ({ value: l.code, label: l.label }))} />
          <Button loading={run.isPending} onClick={() => run.mutate()}>
            {button}
          </Button>
        </Group>
        {run.isPending && (
          <Text size="sm" role="status">
            {t('privacy.preparing')}
          </Text>
        )}
      </Stack>
    </Card>
  );
}

/** Restriction of processing (biometrics, tracking): switches over the restrictions in force. */
export function RestrictionsCard({
  queryKey,
  load,
  save,
  labels,
}: {
  queryKey: QueryKey;
  load: () => Promise<Restrictions>;
  save: (change: RestrictionChange) => Promise<Restrictions>;
  labels: { title: string; hint: string; biometrics: string; tracking: string };
}) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const current = useQuery({ queryKey, queryFn: load });
  const change = useMutation({
    mutationFn: save,
    onSuccess: (r) => {
      qc.setQueryData(queryKey, r);
      notifications.show({ color: 'green', message: t('app.saved') });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Card withBorder component="section" aria-label={labels.title}>
      <Stack>
        <Title order={3}>{labels.title}</Title>
        <Text size="sm" c="dimmed">
          {labels.hint}
        </Text>
        <QueryView query={current}>
          {(r) => (
            <>
              <Switch label={labels.biometrics} checked={r.biometrics} disabled={change.isPending} onChange={(e) => change.mutate({ biometrics: e.currentTarget.checked })} />
              <Switch label={labels.tracking} checked={r.tracking} disabled={change.isPending} onChange={(e) => change.mutate({ tracking: e.currentTarget.checked })} />
            </>
          )}
        </QueryView>
      </Stack>
    </Card>
  );
}

/** Badges naming what is restricted (nothing when nothing is). */
export function RestrictionBadges({ restrictions }: { restrictions: Restrictions | undefined }) {
  const { t } = useTranslation();
  if (!restrictions) return null;
  return (
    <>
      {restrictions.biometrics && <Badge color="orange">{t('privacy.biometricsRestricted')}</Badge>}
      {restrictions.tracking && <Badge color="orange">{t('privacy.trackingRestricted')}</Badge>}
    </>
  );
}

/** A notice on a screen whose processing is restricted (`what`: which one). */
export function RestrictedNotice({ restrictions, what, text }: { restrictions: Restrictions | undefined; what: 'biometrics' | 'tracking'; text: string }) {
  if (!restrictions?.[what]) return null;
  return (
    <Alert color="orange" role="status">
      {text}
    </Alert>
  );
}

/** The caller's own restrictions (shared with "My data" through the query key). */
export function useMyRestrictions() {
  return useQuery({ queryKey: ['me', 'restrictions'], queryFn: () => unwrap(api.GET('/api/v1/me/restrictions')) }).data;
}
