import { lazy, Suspense, useState } from 'react';
import { Button, Card, Group, NumberInput, Stack, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ApiError, fieldErrors } from '../problem';
import { FormErrors, Loading } from '../components/States';
import { QueryView, RowsTable } from '../components/DataTable';
import type { Circle } from './SiteMap';

const SiteMap = lazy(() => import('./SiteMap'));
type CreateSite = components['schemas']['CreateSite'];

export function SitesPage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites')) });
  const [name, setName] = useState('');
  const [tz, setTz] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [circle, setCircle] = useState<Circle>({ latitude: 38.5598, longitude: 68.787, radius_m: 150 });
  const [errors, setErrors] = useState<{ byField: Record<string, string>; general: string[] }>({ byField: {}, general: [] });
  const create = useMutation({
    mutationFn: (body: CreateSite) => unwrap(api.POST('/api/v1/sites', { body })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('sites.created') });
      setName('');
      setErrors({ byField: {}, general: [] });
      void qc.invalidateQueries({ queryKey: ['sites'] });
    },
    onError: (e) => setErrors(e instanceof ApiError ? fieldErrors(e.problem, ['name', 'time_zone', 'geofence']) : { byField: {}, general: [String(e)] }),
  });
  return (
    <Stack>
      <Title order={2}>{t('sites.title')}</Title>
      <QueryView query={sites} isEmpty={(d) => d.length === 0}>
        {(rows) => (
          <RowsTable
            label={t('sites.title')}
            rows={rows}
            rowKey={(s) => s.id}
            columns={[
              { header: t('sites.name'), cell: (s) => s.name },
              { header: t('sites.timeZone'), cell: (s) => s.time_zone },
              { header: t('sites.geofence'), cell: (s) => (s.geofence.type === 'circle' ? `${Math.round(s.geofence.radius_m)} m` : 'polygon') },
            ]}
          />
        )}
      </QueryView>
      <Card withBorder component="form" onSubmit={(e) => { e.preventDefault(); create.mutate({ name, time_zone: tz, geofence: { type: 'circle', ...circle }, active: true }); }}>
        <Stack>
          <Title order={3}>{t('sites.new')}</Title>
          <TextInput label={t('sites.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.byField.name} />
          <TextInput label={t('sites.timeZone')} value={tz} onChange={(e) => setTz(e.currentTarget.value)} error={errors.byField.time_zone} />
          <Group grow>
            <NumberInput label={t('sites.latitude')} value={circle.latitude} decimalScale={6} onChange={(v) => setCircle({ ...circle, latitude: Number(v) })} />
            <NumberInput label={t('sites.longitude')} value={circle.longitude} decimalScale={6} onChange={(v) => setCircle({ ...circle, longitude: Number(v) })} />
            <NumberInput label={t('sites.radius')} value={circle.radius_m} min={10} max={100000} onChange={(v) => setCircle({ ...circle, radius_m: Number(v) })} error={errors.byField.geofence} />
          </Group>
          <Suspense fallback={<Loading />}>
            <SiteMap circle={circle} label={t('sites.map')} onMove={(latitude, longitude) => setCircle((c) => ({ ...c, latitude, longitude }))} />
          </Suspense>
          <FormErrors errors={errors.general} />
          <Button type="submit" loading={create.isPending}>
            {t('app.save')}
          </Button>
        </Stack>
      </Card>
    </Stack>
  );
}
