import { Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { CONSENT_KINDS, currentState, type ConsentKind, type ConsentRecord } from '../consent';
import { Empty, ErrorState, Loading } from '../components/States';

export function ConsentHistory({ records }: { records: readonly ConsentRecord[] }) {
  const { t } = useTranslation();
  if (records.length === 0) return <Empty />;
  return (
    <Table aria-label={t('consent.history')}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('consent.kind')}</Table.Th>
          <Table.Th>{t('consent.version')}</Table.Th>
          <Table.Th>{t('attendance.at')}</Table.Th>
          <Table.Th>{t('attendance.kind')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {records.map((r) => (
          <Table.Tr key={`${r.kind}-${r.at}`}>
            <Table.Td>{t(`consent.${r.kind}`)}</Table.Td>
            <Table.Td>{r.text_version}</Table.Td>
            <Table.Td>{new Date(r.at).toLocaleString()}</Table.Td>
            <Table.Td>{t(r.action === 'grant' ? 'consent.granted' : 'consent.withdrawn')}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function MyConsentsPage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const texts = useQuery({ queryKey: ['consent-texts'], queryFn: () => unwrap(api.GET('/api/v1/consent-texts')) });
  const mine = useQuery({ queryKey: ['my-consents'], queryFn: () => unwrap(api.GET('/api/v1/me/consents')) });
  const give = useMutation({
    mutationFn: (v: { kind: ConsentKind; action: 'grant' | 'withdraw'; text_version: number }) =>
      unwrap(api.POST('/api/v1/me/consents', { body: v })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['my-consents'] }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  if (texts.isPending || mine.isPending) return <Loading />;
  if (texts.isError) return <ErrorState error={texts.error} onRetry={() => void texts.refetch()} />;
  if (mine.isError) return <ErrorState error={mine.error} onRetry={() => void mine.refetch()} />;
  return (
    <Stack>
      <Title order={2}>{t('nav.myConsents')}</Title>
      {CONSENT_KINDS.map((kind) => {
        const text = texts.data.find((x) => x.kind === kind);
        const state = currentState(mine.data.consents, kind);
        return (
          <Card withBorder key={kind} component="section" aria-label={t(`consent.${kind}`)}>
            <Stack>
              <Group justify="space-between">
                <Title order={3}>{t(`consent.${kind}`)}</Title>
                <Badge color={state === 'granted' ? 'green' : 'gray'}>{t(`consent.${state}`)}</Badge>
              </Group>
              {text ? (
                <>
                  <Text style={{ whiteSpace: 'pre-wrap' }}>{text.body}</Text>
                  <Text size="xs" c="dimmed">
                    {t('consent.version')} {text.version}
                  </Text>
                  <Group>
                    {state !== 'granted' ? (
                      <Button loading={give.isPending} onClick={() => give.mutate({ kind, action: 'grant', text_version: text.version })}>
                        {t('consent.grant')}
                      </Button>
                    ) : (
                      <Button color="red" variant="light" loading={give.isPending} onClick={() => give.mutate({ kind, action: 'withdraw', text_version: text.version })}>
                        {t('consent.withdraw')}
                      </Button>
                    )}
                  </Group>
                </>
              ) : (
                <Text c="dimmed">{t('consent.noText')}</Text>
              )}
            </Stack>
          </Card>
        );
      })}
      <Title order={3}>{t('consent.history')}</Title>
      <ConsentHistory records={mine.data.history} />
    </Stack>
  );
}
