// Flagged punches: the evidence photo, the verdict's reasons and the position, approved or
// rejected with a comment. A reviewed punch shows its decision instead of the buttons.

import { lazy, Suspense, useState } from 'react';
import { Badge, Button, Card, Group, Image, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { useAuthImage } from '../components/ProfilePhoto';
import { Loading } from '../components/States';
import { Pager, QueryView, usePagedQuery } from '../components/DataTable';
import { useFences } from '../components/Locations';
import type { Fence } from '../track';
import { formatDateTime } from '../dates';
import { useEmployeeNames } from '../hooks/useEmployeeNames';
import { Link } from 'react-router';

type Event = components['schemas']['AttendanceRecord'];
const TrackMap = lazy(() => import('./TrackMap'));
const PAGE = 20;

/** The evidence frame, fetched with the token (an <img src> cannot send one). */
function EvidencePhoto({ id, alt }: { id: string; alt: string }) {
  const { url, missing } = useAuthImage(`/api/v1/attendance/events/${id}/photo`);
  if (missing) return null;
  return url ? <Image src={url} alt={alt} w={200} radius="sm" /> : <Loading />;
}

function ReviewCard({ event, name, fences }: { event: Event; name: string; fences: readonly Fence[] }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const [comment, setComment] = useState('');
  const review = useMutation({
    mutationFn: (decision: 'accept' | 'reject') =>
      unwrap(api.POST('/api/v1/attendance/events/{id}/review', { params: { path: { id: event.id } }, body: { decision, comment: comment.trim() || undefined } })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('review.done') });
      void qc.invalidateQueries({ queryKey: ['flagged'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const when = formatDateTime(event.occurred_at, undefined, i18n.language);
  return (
    <Card withBorder component="article" aria-label={`${t('review.punch')} ${when}`}>
      <Group align="flex-start">
        <EvidencePhoto id={event.id} alt={t('review.photo')} />
        <Stack gap="xs" style={{ flex: 1 }}>
          <Text fw={600}>{when}</Text>
          <Text size="sm">
            {t('review.employee')}: <Link to={`/employees/${event.employee_id}`}>{name}</Link>
          </Text>
          <Group gap="xs">
            {(event.reasons ?? []).map((r) => (
              <Badge key={r} color="orange">
                {r}
              </Badge>
            ))}
          </Group>
          {event.lat != null && event.lon != null && (
            <>
              <Text size="sm">
                {event.lat.toFixed(5)}, {event.lon.toFixed(5)} {event.accuracy_m != null && `± ${Math.round(event.accuracy_m)} m`}
                {event.distance_m != null && ` · ${t('review.distance', { m: Math.round(event.distance_m) })}`}
              </Text>
              <Suspense fallback={<Loading />}>
                <TrackMap label={`${t('review.position')} ${when}`} punch={{ lat: event.lat, lon: event.lon }} fences={fences} height={220} />
              </Suspense>
            </>
          )}
          {event.status === 'flagged_accepted' || event.status === 'flagged_rejected' ? (
            <Badge color={event.status === 'flagged_accepted' ? 'green' : 'red'}>
              {event.status === 'flagged_accepted' ? t('review.accepted') : t('review.rejected')}
            </Badge>
          ) : (
            <>
              <TextInput label={t('review.comment')} value={comment} onChange={(e) => setComment(e.currentTarget.value)} />
              <Group>
                <Button color="green" loading={review.isPending} onClick={() => review.mutate('accept')}>
                  {t('review.accept')}
                </Button>
                <Button color="red" variant="light" loading={review.isPending} onClick={() => review.mutate('reject')}>
                  {t('review.reject')}
                </Button>
              </Group>
            </>
          )}
        </Stack>
      </Group>
    </Card>
  );
}

export function ReviewPage() {
  const { t } = useTranslation();
  const list = usePagedQuery(['flagged'], (limit, offset) => unwrap(api.GET('/api/v1/attendance', { params: { query: { verdict: 'flagged', limit, offset } } })), PAGE);
  const nameOf = useEmployeeNames(list.query.data?.items.map((e) => e.employee_id) ?? []);
  const fences = useFences();
  // A punch's own site's geofence when it has one, else every site's.
  const fencesOf = (e: Event) => (e.site_id && fences.some((f) => f.id === e.site_id) ? fences.filter((f) => f.id === e.site_id) : fences);
  return (
    <Stack>
      <Title order={2}>{t('review.title')}</Title>
      <QueryView query={list.query} isEmpty={(d) => d.items.length === 0} emptyText={t('review.none')}>
        {(data) => (
          <>
            {data.items.map((e) => (
              <ReviewCard key={e.id} event={e} name={nameOf(e.employee_id)} fences={fencesOf(e)} />
            ))}
            <Pager total={data.total} pageSize={PAGE} page={list.page} onPage={list.onPage} />
          </>
        )}
      </QueryView>
    </Stack>
  );
}
