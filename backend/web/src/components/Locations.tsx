import { lazy, Suspense, useState } from 'react';
import { Alert, Badge, Button, Card, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { isoDay } from '../dates';
import { MAX_TRACK_DAYS, suspiciousCounts, trackRange } from '../track';
import { QueryView } from './DataTable';
import { Loading } from './States';

const TrackMap = lazy(() => import('../pages/TrackMap'));
type Track = components['schemas']['Track'];

/** The sites' circular geofences, for drawing under positions (staff may read sites). */
export function useFences(enabled = true) {
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites')), enabled, retry: false });
  return (sites.data ?? []).flatMap((s) => (s.geofence.type === 'circle' ? [{ id: s.id, ...s.geofence }] : []));
}

/**
 * A person's track over a range of days on the map: `fetchTrack` is the employee's
 * (`/employees/{id}/locations`) or the caller's own (`/me/locations`).
 */
export function LocationsCard({ queryKey, fetchTrack, showFences }: { queryKey: readonly unknown[]; fetchTrack: (range: { from: string; to: string }) => Promise<Track>; showFences: boolean }) {
  const { t, i18n } = useTranslation();
  const today = isoDay(new Date());
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [asked, setAsked] = useState<{ from: string; to: string } | null>(null);
  const range = trackRange(from, to);
  const fences = useFences(showFences);
  const track = useQuery({ queryKey: [...queryKey, 'locations', asked?.from, asked?.to], queryFn: () => fetchTrack(asked!), enabled: asked !== null });
  return (
    <Card withBorder component="section" aria-label={t('locations.title')}>
      <Stack>
        <Title order={3}>{t('locations.title')}</Title>
        <Group align="flex-end">
          <TextInput label={t('locations.from')} type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput label={t('locations.to')} type="date" value={to} onChange={(e) => setTo(e.currentTarget.value)} error={'error' in range ? t(range.error, { max: MAX_TRACK_DAYS }) : undefined} />
          <Button disabled={'error' in range} onClick={() => 'from' in range && setAsked(range)}>
            {t('locations.show')}
          </Button>
        </Group>
        {asked && (
          <QueryView query={track}>
            {(tr) => {
              const odd = suspiciousCounts(tr.points);
              return (
                <Stack>
                  <Group gap="xs">
                    <Text size="sm" role="status">
                      {tr.points.length === 0 ? t('locations.none') : t('locations.points', { count: tr.points.length })}
                    </Text>
                    {odd.mock > 0 && <Badge color="red">{t('locations.mockCount', { count: odd.mock })}</Badge>}
                    {odd.jump > 0 && <Badge color="orange">{t('locations.jumpCount', { count: odd.jump })}</Badge>}
                  </Group>
                  {tr.truncated && (
                    <Alert color="yellow" role="alert">
                      {t('locations.truncated', { at: new Date(tr.points[tr.points.length - 1]?.recorded_at ?? Date.now()).toLocaleString(i18n.language) })}
                    </Alert>
                  )}
                  <Suspense fallback={<Loading />}>
                    <TrackMap label={t('locations.map')} points={tr.points} fences={fences} />
                  </Suspense>
                  <Text size="xs" c="dimmed">
                    {t('locations.legend')}
                  </Text>
                </Stack>
              );
            }}
          </QueryView>
        )}
      </Stack>
    </Card>
  );
}
