import { Badge, Stack, Table, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { Empty, ErrorState, Loading } from '../components/States';
import { RestrictedNotice, useMyRestrictions } from '../components/Privacy';

export function MyAttendancePage() {
  const { t } = useTranslation();
  const events = useQuery({ queryKey: ['my-attendance'], queryFn: () => unwrap(api.GET('/api/v1/me/attendance')) });
  const restrictions = useMyRestrictions();
  return (
    <Stack>
      <Title order={2}>{t('attendance.title')}</Title>
      <RestrictedNotice restrictions={restrictions} what="biometrics" text={t('privacy.biometricsRestrictedMine')} />
      {events.isPending ? (
        <Loading />
      ) : events.isError ? (
        <ErrorState error={events.error} onRetry={() => void events.refetch()} />
      ) : events.data.length === 0 ? (
        <Empty />
      ) : (
        <Table aria-label={t('attendance.title')}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('attendance.at')}</Table.Th>
              <Table.Th>{t('attendance.kind')}</Table.Th>
              <Table.Th>{t('attendance.verdict')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {events.data.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{new Date(e.occurred_at).toLocaleString()}</Table.Td>
                <Table.Td>{e.kind}</Table.Td>
                <Table.Td>
                  <Badge color={e.verdict === 'verified' ? 'green' : e.verdict === 'flagged' ? 'orange' : 'red'}>{e.verdict}</Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
