// Flagged punches: the evidence photo, the verdict's reasons and the position, approved or
// rejected with a comment. A reviewed punch shows its decision instead of the buttons.
//
// The list is virtualised (@tanstack/react-virtual, scrolled with the window): only the cards
// on screen (and a few around them) are in the page, read from the server in batches of
// REVIEW_BATCH as the list is scrolled, so 1,000 flagged punches scroll without jank. It is an
// ARIA feed of articles (each named by its time, with its position in the set), so the cards
// stay reachable by role. The map of a punch's position opens on request: a WebGL map per card
// would be created and destroyed at every scroll.

import { lazy, Suspense, useCallback, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type Ref } from 'react';
import { Badge, Box, Button, Card, Group, Image, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { useAuthImage } from '../components/ProfilePhoto';
import { Empty, ErrorState, Loading } from '../components/States';
import { useFences } from '../components/Locations';
import type { Fence } from '../track';
import { formatDateTime } from '../dates';
import { useEmployeeName } from '../hooks/useEmployeeNames';
import { nextBatchOffset, REVIEW_BATCH, wantsMore } from '../review';

type Event = components['schemas']['AttendanceRecord'];
const TrackMap = lazy(() => import('./TrackMap'));
const PHOTO_W = 160;
const PHOTO_H = 120;

/** The evidence frame, fetched with the token (an <img src> cannot send one), in a fixed box. */
function EvidencePhoto({ id, alt }: { id: string; alt: string }) {
  const { url, missing } = useAuthImage(`/api/v1/attendance/events/${id}/photo`);
  return (
    <Box w={PHOTO_W} h={PHOTO_H} style={{ flex: 'none' }}>
      {missing ? null : url ? <Image src={url} alt={alt} w={PHOTO_W} h={PHOTO_H} fit="contain" radius="sm" /> : <Loading />}
    </Box>
  );
}

interface CardProps {
  event: Event;
  fences: readonly Fence[];
  index: number;
  setSize: number;
  rowRef: Ref<HTMLElement>;
  style: CSSProperties;
}

function ReviewCard({ event, fences, index, setSize, rowRef, style }: CardProps) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const name = useEmployeeName(event.employee_id);
  const [comment, setComment] = useState('');
  const [showMap, setShowMap] = useState(false);
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
    <Card
      withBorder
      component="article"
      ref={rowRef as Ref<HTMLDivElement>}
      data-index={index}
      aria-posinset={index + 1}
      aria-setsize={setSize}
      aria-label={`${t('review.punch')} ${when}`}
      style={style}
    >
      <Group align="flex-start" wrap="nowrap">
        <EvidencePhoto id={event.id} alt={t('review.photo')} />
        <Stack gap="xs" style={{ flex: 1, minWidth: 0 }}>
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
              <Group gap="xs">
                <Text size="sm">
                  {event.lat.toFixed(5)}, {event.lon.toFixed(5)} {event.accuracy_m != null && `± ${Math.round(event.accuracy_m)} m`}
                  {event.distance_m != null && ` · ${t('review.distance', { m: Math.round(event.distance_m) })}`}
                </Text>
                <Button size="compact-sm" variant="subtle" aria-expanded={showMap} onClick={() => setShowMap((s) => !s)}>
                  {showMap ? t('review.hideMap') : t('review.showMap')}
                </Button>
              </Group>
              {showMap && (
                <Suspense fallback={<Loading />}>
                  <TrackMap label={`${t('review.position')} ${when}`} punch={{ lat: event.lat, lon: event.lon }} fences={fences} height={220} />
                </Suspense>
              )}
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

function ReviewList({ events, total, hasMore, loadingMore, loadMore }: { events: readonly Event[]; total: number; hasMore: boolean; loadingMore: boolean; loadMore: () => void }) {
  const { t } = useTranslation();
  const fences = useFences();
  // A punch's own site's geofence when it has one, else every site's.
  const fencesOf = (e: Event) => (e.site_id && fences.some((f) => f.id === e.site_id) ? fences.filter((f) => f.id === e.site_id) : fences);
  const listRef = useRef<HTMLDivElement>(null);
  const [margin, setMargin] = useState(0);
  useLayoutEffect(() => {
    setMargin(listRef.current ? listRef.current.getBoundingClientRect().top + window.scrollY : 0);
  }, []);
  const rows = useWindowVirtualizer({
    count: events.length,
    estimateSize: () => PHOTO_H + 150,
    overscan: 4,
    gap: 12,
    scrollMargin: margin,
  });
  const items = rows.getVirtualItems();
  const last = items.at(-1)?.index;
  useEffect(() => {
    if (!loadingMore && wantsMore(last, events.length, hasMore)) loadMore();
  }, [last, events.length, hasMore, loadingMore, loadMore]);
  return (
    <>
      <Text size="sm" c="dimmed">
        {t('review.total', { count: total })}
      </Text>
      <div ref={listRef} role="feed" aria-label={t('review.title')} aria-busy={loadingMore} style={{ position: 'relative', height: rows.getTotalSize() }}>
        {items.map((v) => {
          const e = events[v.index]!;
          return (
            <ReviewCard
              key={e.id}
              event={e}
              fences={fencesOf(e)}
              index={v.index}
              setSize={total}
              rowRef={rows.measureElement}
              style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${v.start - rows.options.scrollMargin}px)` }}
            />
          );
        })}
      </div>
      {loadingMore && <Loading />}
    </>
  );
}

export function ReviewPage() {
  const { t } = useTranslation();
  const list = useInfiniteQuery({
    queryKey: ['flagged'],
    queryFn: ({ pageParam }) => unwrap(api.GET('/api/v1/attendance', { params: { query: { verdict: 'flagged', limit: REVIEW_BATCH, offset: pageParam } } })),
    initialPageParam: 0,
    getNextPageParam: (last) => nextBatchOffset(last),
  });
  const { fetchNextPage } = list;
  const loadMore = useCallback(() => void fetchNextPage({ cancelRefetch: false }), [fetchNextPage]);
  const events = list.data?.pages.flatMap((p) => p.items) ?? [];
  const total = list.data?.pages.at(-1)?.total ?? 0;
  return (
    <Stack>
      <Title order={2}>{t('review.title')}</Title>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : events.length === 0 ? (
        <Empty text={t('review.none')} />
      ) : (
        <ReviewList events={events} total={total} hasMore={list.hasNextPage} loadingMore={list.isFetchingNextPage} loadMore={loadMore} />
      )}
    </Stack>
  );
}
