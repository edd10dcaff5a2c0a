import { Badge, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { QueryView } from '../components/DataTable';
import { LocationsCard } from '../components/Locations';
import { windowsByDay } from '../selfService';
import { RestrictedNotice, useMyRestrictions } from '../components/Privacy';

/** The caller's tracking policy (read-only: the administrator sets it) and their own track. */
export function MyTrackingPage() {
  const { t } = useTranslation();
  const policy = useQuery({ queryKey: ['me', 'tracking-policy'], queryFn: () => unwrap(api.GET('/api/v1/me/tracking-policy')) });
  const restrictions = useMyRestrictions();
  return (
    <Stack maw={900}>
      <Title order={2}>{t('myTracking.title')}</Title>
      <RestrictedNotice restrictions={restrictions} what="tracking" text={t('privacy.trackingRestrictedMine')} />
      <Card withBorder component="section" aria-label={t('myTracking.policy')}>
        <QueryView query={policy}>
          {(p) => (
            <Stack gap="xs">
              <Group>
                <Text fw={500}>{t('myTracking.policy')}</Text>
                <Badge color={p.enabled ? 'green' : 'gray'}>{p.enabled ? t('myTracking.on') : t('myTracking.off')}</Badge>
              </Group>
              {p.enabled && (
                <>
                  {p.interval_s != null && <Text size="sm">{t('myTracking.interval', { s: p.interval_s })}</Text>}
                  <Text size="sm">{t('myTracking.accuracy', { m: Math.round(p.max_accuracy_m) })}</Text>
                  {p.working_hours ? (
                    <>
                      <Text size="sm">{t('myTracking.onlyWorkingHours', { tz: p.working_hours.time_zone })}</Text>
                      <Table aria-label={t('myTracking.hours')} maw={420}>
                        <Table.Tbody>
                          {windowsByDay(p.working_hours.windows).map(([d, w]) => (
                            <Table.Tr key={d}>
                              <Table.Td>{t(`weekdaysLong.${d}`)}</Table.Td>
                              <Table.Td>{w.join(', ')}</Table.Td>
                            </Table.Tr>
                          ))}
                        </Table.Tbody>
                      </Table>
                    </>
                  ) : (
                    <Text size="sm">{t('myTracking.always')}</Text>
                  )}
                </>
              )}
              <Text size="xs" c="dimmed">
                {t('myTracking.hint')}
              </Text>
            </Stack>
          )}
        </QueryView>
      </Card>
      <LocationsCard queryKey={['me']} showFences={false} fetchTrack={(range) => unwrap(api.GET('/api/v1/me/locations', { params: { query: range } }))} />
    </Stack>
  );
}
