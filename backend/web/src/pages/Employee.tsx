import { useState } from 'react';
import { Alert, Anchor, Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ApiError, fieldErrors } from '../problem';
import { Empty, ErrorState, FormErrors, Loading } from '../components/States';
import { ConsentHistory } from './MyConsents';
import { LocationsCard } from '../components/Locations';
import { ExportCard, RestrictedNotice, RestrictionBadges, RestrictionsCard } from '../components/Privacy';
import { ProfilePhotoCard } from '../components/ProfilePhoto';
import { EffectivePolicy, TrackingPolicyCard } from '../components/TrackingPolicy';

/** One employee (staff). `admin`: the caller is an administrator (restrictions are theirs alone). */
export function EmployeePage({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const path = { params: { path: { id } } };
  const employee = useQuery({ queryKey: ['employee', id], queryFn: () => unwrap(api.GET('/api/v1/employees/{id}', path)) });
  // Restrictions of processing are the administrators' (an operator sees none of them).
  const isAdmin = admin;
  const restrictionsKey = ['employee', id, 'restrictions'];
  const restrictions = useQuery({
    queryKey: restrictionsKey,
    queryFn: () => unwrap(api.GET('/api/v1/employees/{id}/restrictions', path)),
    enabled: isAdmin,
  });
  const status = useMutation({
    mutationFn: (action: 'dismiss' | 'rehire') =>
      action === 'dismiss'
        ? unwrap(api.POST('/api/v1/employees/{id}/dismiss', path))
        : unwrap(api.POST('/api/v1/employees/{id}/rehire', path)),
    onSuccess: (e, action) => {
      qc.setQueryData(['employee', id], e);
      void qc.invalidateQueries({ queryKey: ['employees'] });
      notifications.show({ color: 'green', message: t(action === 'dismiss' ? 'employees.dismissed' : 'employees.rehired') });
    },
  });
  const back = (
    <Anchor component={Link} to="/employees">
      {t('employees.back')}
    </Anchor>
  );
  if (employee.isPending) return <Loading />;
  if (employee.isError) {
    const e = employee.error;
    if (e instanceof ApiError && (e.status === 403 || e.status === 404))
      return (
        <Stack>
          <Alert color="orange" role="alert">
            {t('employees.notFound')}
          </Alert>
          {back}
        </Stack>
      );
    return <ErrorState error={e} onRetry={() => void employee.refetch()} />;
  }
  const e = employee.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Title order={2}>
          {e.last_name} {e.first_name}
        </Title>
        <Group>
          <Badge>{t(`roles.${e.role}`)}</Badge>
          <Badge color={e.status === 'active' ? 'green' : 'gray'}>{t(`status.${e.status}`)}</Badge>
          <RestrictionBadges restrictions={restrictions.data} />
          {e.status === 'active' ? (
            <Button color="red" variant="light" loading={status.isPending} onClick={() => status.mutate('dismiss')}>
              {t('employees.dismiss')}
            </Button>
          ) : (
            <Button variant="light" loading={status.isPending} onClick={() => status.mutate('rehire')}>
              {t('employees.rehire')}
            </Button>
          )}
        </Group>
      </Group>
      {status.isError && <ErrorState error={status.error} />}
      <Text>
        {t('employees.login')}: {e.login}
      </Text>
      <ProfilePhotoCard
        who={`${e.last_name} ${e.first_name}`}
        employeeId={id}
        version={e.photo_updated_at}
        onChanged={(v) => qc.setQueryData(['employee', id], { ...e, photo_updated_at: v })}
      />
      <RestrictedNotice restrictions={restrictions.data} what="biometrics" text={t('privacy.biometricsRestrictedStaff')} />
      <FaceTemplates id={id} />
      <EmployeeConsents id={id} />
      <ExportCard
        title={t('privacy.employeeExport')}
        hint={t('privacy.employeeExportHint')}
        button={t('privacy.employeeDownload')}
        start={async (language) => {
          const x = await unwrap(api.POST('/api/v1/employees/{id}/export', { ...path, body: { language } }));
          return `/api/v1/employees/${id}/export/${x.id}`;
        }}
      />
      {isAdmin && (
        <RestrictionsCard
          queryKey={restrictionsKey}
          load={() => unwrap(api.GET('/api/v1/employees/{id}/restrictions', path))}
          save={(body) => unwrap(api.PUT('/api/v1/employees/{id}/restrictions', { ...path, body }))}
          labels={{ title: t('privacy.restrictions'), hint: t('privacy.employeeRestrictionsHint'), biometrics: t('privacy.restrictEmployeeBiometrics'), tracking: t('privacy.restrictEmployeeTracking') }}
        />
      )}
      <RestrictedNotice restrictions={restrictions.data} what="tracking" text={t('privacy.trackingRestrictedStaff')} />
      <EmployeeTracking id={id} admin={isAdmin} />
      <LocationsCard
        queryKey={['employee', id]}
        showFences
        fetchTrack={(range) => unwrap(api.GET('/api/v1/employees/{id}/locations', { params: { path: { id }, query: range } }))}
      />
    </Stack>
  );
}

function FaceTemplates({ id }: { id: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [files, setFiles] = useState<File[]>([]);
  // Bumped after an enrolment so the file input starts empty again.
  const [inputKey, setInputKey] = useState(0);
  const [errors, setErrors] = useState<string[]>([]);
  const path = { params: { path: { id } } };
  const templates = useQuery({
    queryKey: ['face-templates', id],
    queryFn: () => unwrap(api.GET('/api/v1/employees/{id}/face-templates', path)),
  });
  const enrol = useMutation({
    mutationFn: (photos: File[]) =>
      unwrap(
        api.POST('/api/v1/employees/{id}/face-templates', {
          ...path,
          body: { photo: [] },
          bodySerializer: () => {
            const form = new FormData();
            for (const p of photos) form.append('photo', p, p.name);
            return form;
          },
        }),
      ),
    onSuccess: () => {
      setFiles([]);
      setInputKey((k) => k + 1);
      setErrors([]);
      notifications.show({ color: 'green', message: t('faces.enrolled') });
      void qc.invalidateQueries({ queryKey: ['face-templates', id] });
    },
    onError: (e) => setErrors(e instanceof ApiError ? fieldErrors(e.problem, []).general : [String(e)]),
  });
  const remove = useMutation({
    mutationFn: (template_id: string) =>
      unwrap(api.DELETE('/api/v1/employees/{id}/face-templates/{template_id}', { params: { path: { id, template_id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['face-templates', id] }),
  });
  return (
    <Card withBorder>
      <Stack>
        <Title order={3}>{t('faces.title')}</Title>
        {templates.isPending ? (
          <Loading />
        ) : templates.isError ? (
          <ErrorState error={templates.error} />
        ) : templates.data.length === 0 ? (
          <Empty text={t('faces.none')} />
        ) : (
          <Table aria-label={t('faces.title')}>
            <Table.Tbody>
              {templates.data.map((tpl) => (
                <Table.Tr key={tpl.id}>
                  <Table.Td>{new Date(tpl.created_at).toLocaleString()}</Table.Td>
                  <Table.Td>
                    {t('faces.quality')}: {tpl.quality.toFixed(2)}
                  </Table.Td>
                  <Table.Td>
                    <Button size="xs" variant="subtle" color="red" onClick={() => remove.mutate(tpl.id)}>
                      {t('faces.delete')}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Stack gap={4}>
          <Text component="label" htmlFor={`enrol-${id}`} size="sm" fw={500}>
            {t('faces.upload')}
          </Text>
          <input
            key={inputKey}
            id={`enrol-${id}`}
            type="file"
            multiple
            accept="image/jpeg,image/png,image/webp"
            onChange={(e) => setFiles(Array.from(e.currentTarget.files ?? []))}
          />
        </Stack>
        <FormErrors errors={errors} />
        <Button disabled={files.length === 0} loading={enrol.isPending} onClick={() => enrol.mutate(files)}>
          {t('faces.enrol')}
        </Button>
      </Stack>
    </Card>
  );
}

function EmployeeConsents({ id }: { id: string }) {
  const { t } = useTranslation();
  const consents = useQuery({
    queryKey: ['consents', id],
    queryFn: () => unwrap(api.GET('/api/v1/employees/{id}/consents', { params: { path: { id } } })),
  });
  return (
    <Card withBorder>
      <Stack>
        <Title order={3}>{t('consent.title')}</Title>
        {consents.isPending ? (
          <Loading />
        ) : consents.isError ? (
          <ErrorState error={consents.error} />
        ) : (
          <ConsentHistory records={consents.data.history} />
        )}
      </Stack>
    </Card>
  );
}

/** The employee's tracking policy in effect (their own, else their department's, else the default); administrators set their own. */
function EmployeeTracking({ id, admin }: { id: string; admin: boolean }) {
  const { t } = useTranslation();
  const path = { params: { path: { id } } };
  const queryKey = ['employee', id, 'tracking'];
  const load = () => unwrap(api.GET('/api/v1/employees/{id}/tracking-policy', path));
  const effective = useQuery({ queryKey, queryFn: load });
  return (
    <Card withBorder component="section" aria-label={t('tracking.title')}>
      <Stack>
        <Title order={3}>{t('tracking.title')}</Title>
        <EffectivePolicy policy={effective.data} />
        {admin && (
          <TrackingPolicyCard
            label={t('tracking.employeePolicy')}
            hint={t('tracking.employeeHint')}
            queryKey={queryKey}
            load={load}
            save={(body) => unwrap(api.PUT('/api/v1/employees/{id}/tracking-policy', { ...path, body }))}
            remove={{
              label: t('tracking.removeEmployee'),
              question: t('tracking.removeEmployeeQuestion'),
              done: t('tracking.employeeRemoved'),
              run: () => unwrap(api.DELETE('/api/v1/employees/{id}/tracking-policy', path)),
            }}
          />
        )}
      </Stack>
    </Card>
  );
}
