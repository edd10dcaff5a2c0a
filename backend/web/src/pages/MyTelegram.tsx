import { Alert, Anchor, Badge, Button, Card, Code, Group, NativeSelect, Stack, Switch, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ConfirmButton, useRowAction } from '../components/Confirm';
import { QueryView } from '../components/DataTable';
import { ErrorState } from '../components/States';
import { formatDateTime } from '../dates';
import { LANGUAGES } from '../i18n';
import { ApiError } from '../problem';
import { canManage, type Role } from '../roles';

type TelegramLink = components['schemas']['TelegramLink'];
type Lang = components['schemas']['Lang'];
type Notifications = components['schemas']['TelegramNotifications'];

/** Links the caller's Telegram chat (a one-time deep link), its language and notifications. */
export function MyTelegramPage({ role }: { role: Role }) {
  const { t } = useTranslation();
  const link = useQuery({
    queryKey: ['me', 'telegram'],
    queryFn: () => unwrap(api.GET('/api/v1/me/telegram')),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  });
  return (
    <Stack maw={640}>
      <Title order={2}>{t('myTelegram.title')}</Title>
      {link.isError && link.error instanceof ApiError && link.error.code === 'telegram_not_configured' ? (
        <Alert color="gray" role="status">
          {t('myTelegram.off')}
        </Alert>
      ) : (
        <QueryView query={link}>{(l) => (l.linked ? <Linked link={l} staff={canManage(role)} /> : <NotLinked />)}</QueryView>
      )}
    </Stack>
  );
}

function NotLinked() {
  const { t, i18n } = useTranslation();
  const create = useMutation({ mutationFn: () => unwrap(api.POST('/api/v1/me/telegram/link', { body: { language: i18n.language as Lang } })) });
  const needsConsent = create.error instanceof ApiError && create.error.code === 'telegram_consent_required';
  return (
    <Card withBorder>
      <Stack>
        <Text>{t('myTelegram.notLinked')}</Text>
        {create.data ? (
          <Alert color="blue" role="status" title={t('myTelegram.linkReady')}>
            <Stack gap="xs">
              <Anchor href={create.data.url} target="_blank" rel="noreferrer">
                {create.data.url}
              </Anchor>
              <Text size="sm">{t('myTelegram.linkHint', { at: formatDateTime(create.data.expires_at, undefined, i18n.language) })}</Text>
              <Text size="sm">
                {t('myTelegram.code')}: <Code>{create.data.code}</Code>
              </Text>
            </Stack>
          </Alert>
        ) : null}
        {needsConsent ? (
          <Alert color="orange" role="alert">
            {t('myTelegram.consentFirst')}{' '}
            <Anchor component={Link} to="/me/consents">
              {t('nav.myConsents')}
            </Anchor>
          </Alert>
        ) : (
          create.isError && <ErrorState error={create.error} />
        )}
        <Group>
          <Button loading={create.isPending} onClick={() => create.mutate()}>
            {create.data ? t('myTelegram.newLink') : t('myTelegram.link')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function Linked({ link, staff }: { link: TelegramLink; staff: boolean }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const patch = useMutation({
    mutationFn: (body: components['schemas']['TelegramSettingsPatch']) => unwrap(api.PATCH('/api/v1/me/telegram', { body })),
    onSuccess: (l) => qc.setQueryData(['me', 'telegram'], l),
  });
  const unlink = useRowAction(() => unwrap(api.DELETE('/api/v1/me/telegram')), [['me', 'telegram']], t('myTelegram.unlinked'));
  const n: Notifications = link.notifications ?? {
    punches: false, flagged: false, checkout: false, reviews: false, late: false, absent: false, summary: false,
  };
  const keys: (keyof Notifications)[] = staff
    ? ['punches', 'flagged', 'checkout', 'reviews', 'late', 'absent', 'summary']
    : ['punches', 'flagged', 'checkout'];
  return (
    <Card withBorder>
      <Stack>
        <Group>
          <Text>
            {t('myTelegram.linkedAs')} {link.telegram_username ? <Code>@{link.telegram_username}</Code> : null}
          </Text>
          <Badge color={link.status === 'active' ? 'green' : 'red'}>{t(`myTelegram.status.${link.status ?? 'active'}`, { defaultValue: link.status ?? '' })}</Badge>
        </Group>
        {link.linked_at && <Text size="sm" c="dimmed">{t('myTelegram.since', { at: formatDateTime(link.linked_at, undefined, i18n.language) })}</Text>}
        {link.status_reason && <Alert color="orange">{link.status_reason}</Alert>}
        <NativeSelect
          label={t('myTelegram.language')}
          value={link.language ?? 'ru'}
          onChange={(e) => patch.mutate({ language: e.currentTarget.value as Lang })}
          data={LANGUAGES.map((l) => ({ value: l.code, label: l.label }))}
        />
        <Stack gap="xs">
          <Text fw={500} size="sm">
            {t('myTelegram.notifications')}
          </Text>
          {keys.map((k) => (
            <Switch key={k} label={t(`myTelegram.${k}`)} checked={n[k]} disabled={patch.isPending} onChange={(e) => patch.mutate({ [k]: e.currentTarget.checked })} />
          ))}
        </Stack>
        {patch.isError && <ErrorState error={patch.error} />}
        <Group>
          <ConfirmButton variant="light" color="red" size="sm" question={t('myTelegram.unlinkQuestion')} loading={unlink.isPending} onConfirm={() => unlink.mutate(undefined)}>
            {t('myTelegram.unlink')}
          </ConfirmButton>
        </Group>
      </Stack>
    </Card>
  );
}
