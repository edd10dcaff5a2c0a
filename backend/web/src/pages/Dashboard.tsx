import { useState } from 'react';
import { Badge, Button, Card, Group, List, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatDateTime } from '../dates';
import { TODAY_LISTS, todayCount, todayPeople, type TodayList } from '../today';
import { useLiveUpdates } from '../hooks/useLiveUpdates';

type TodayGroup = components['schemas']['TodayGroup'];

/** Polled every 30 s besides the live stream (absences and the clock change it too). */
const REFRESH_MS = 30_000;

/** Who is in, late, missing, not checked out, on leave and waiting for review today. */
export function DashboardPage() {
  const { t } = useTranslation();
  const [shown, setShown] = useState<{ list: TodayList; group: TodayGroup; title: string } | null>(null);
  const query = useQuery({
    queryKey: ['today'],
    queryFn: () => unwrap(api.GET('/api/v1/reports/today', {})),
    refetchInterval: REFRESH_MS,
    // A live view: opening the page always asks again.
    staleTime: 0,
  });
  // Each recorded punch re-reads the view at once (server-sent events).
  const live = useLiveUpdates('/api/v1/reports/today/stream', ['today']);
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const report = query.data;
  const show = (list: TodayList, group: TodayGroup, title: string) => setShown({ list, group, title });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('today.title')}</Title>
        <Group gap="xs">
          <Badge color={live ? 'green' : 'gray'} variant="dot" role="status">
            {live ? t('today.live') : t('today.polling')}
          </Badge>
          <Text size="sm" c="dimmed">
            {t('today.at', { at: formatDateTime(report.at) })}
          </Text>
        </Group>
      </Group>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        {TODAY_LISTS.map((list) => (
          <Card key={list} withBorder>
            <Text size="sm" c="dimmed">
              {t(`today.${list}`)}
            </Text>
            <Button
              variant="subtle"
              size="xl"
              px={0}
              aria-label={`${t(`today.${list}`)}: ${todayCount(report.totals, list)}`}
              onClick={() => show(list, report.totals, t('today.everyone'))}
            >
              {todayCount(report.totals, list)}
            </Button>
          </Card>
        ))}
      </SimpleGrid>
      {shown && <PeopleList shown={shown} onClose={() => setShown(null)} />}
      <GroupTable title={t('today.byDepartment')} groups={report.by_department} onShow={show} />
      <GroupTable title={t('today.bySite')} groups={report.by_site} onShow={show} />
    </Stack>
  );
}

function GroupTable({
  title,
  groups,
  onShow,
}: {
  title: string;
  groups: TodayGroup[];
  onShow: (list: TodayList, group: TodayGroup, title: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs">
      <Title order={3}>{title}</Title>
      {groups.length === 0 ? (
        <Empty />
      ) : (
        <Table striped aria-label={title}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('today.group')}</Table.Th>
              <Table.Th>{t('today.employees')}</Table.Th>
              {TODAY_LISTS.map((list) => (
                <Table.Th key={list}>{t(`today.${list}`)}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {groups.map((g) => {
              const name = g.name ?? t('today.none');
              return (
                <Table.Tr key={g.id ?? 'none'}>
                  <Table.Td>{name}</Table.Td>
                  <Table.Td>{g.employees}</Table.Td>
                  {TODAY_LISTS.map((list) => (
                    <Table.Td key={list}>
                      <Button
                        variant="subtle"
                        size="compact-sm"
                        aria-label={`${name}, ${t(`today.${list}`)}: ${todayCount(g, list)}`}
                        onClick={() => onShow(list, g, name)}
                      >
                        {todayCount(g, list)}
                      </Button>
                    </Table.Td>
                  ))}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function PeopleList({ shown, onClose }: { shown: { list: TodayList; group: TodayGroup; title: string }; onClose: () => void }) {
  const { t } = useTranslation();
  const people = todayPeople(shown.group, shown.list);
  const heading = `${t(`today.${shown.list}`)} · ${shown.title}`;
  return (
    <Card withBorder role="region" aria-label={heading}>
      <Group justify="space-between" mb="xs">
        <Title order={4}>{heading}</Title>
        <Button variant="default" size="xs" onClick={onClose}>
          {t('app.close')}
        </Button>
      </Group>
      {people.length === 0 ? (
        <Empty />
      ) : (
        <List>
          {people.map((p) => (
            <List.Item key={p.employee_id}>
              <Link to={`/employees/${p.employee_id}`}>{p.name}</Link>
              {p.detail && (
                <Badge ml="xs" variant="light">
                  {p.detail.kind === 'late' ? t('today.lateBy', { minutes: p.detail.value }) : t(`absence.${p.detail.value}`)}
                </Badge>
              )}
            </List.Item>
          ))}
        </List>
      )}
    </Card>
  );
}
