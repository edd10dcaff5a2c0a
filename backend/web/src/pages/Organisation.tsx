import { useState } from 'react';
import { Button, Card, Group, NativeSelect, SimpleGrid, Stack, Table, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { Empty, ErrorState, FormErrors, Loading } from '../components/States';
import { useServerErrors } from '../useApiForm';
import { EffectivePolicy, TrackingPolicyCard } from '../components/TrackingPolicy';

interface Named {
  id: string;
  name: string;
}

/** How one named list (departments or positions) is read, added to and deleted from. */
interface NamedApi {
  key: string;
  title: string;
  addLabel: string;
  list: () => Promise<Named[]>;
  create: (name: string) => Promise<Named>;
  remove: (id: string) => Promise<unknown>;
}

/** Departments and positions: the lists employees are filed under. */
export function OrganisationPage() {
  const { t } = useTranslation();
  const departments: NamedApi = {
    key: 'departments',
    title: t('org.departments'),
    addLabel: t('org.newDepartment'),
    list: async () => items(await unwrap(api.GET('/api/v1/departments', {}))),
    create: (name) => unwrap(api.POST('/api/v1/departments', { body: { name } })),
    remove: (id) => unwrap(api.DELETE('/api/v1/departments/{id}', { params: { path: { id } } })),
  };
  const positions: NamedApi = {
    key: 'positions',
    title: t('org.positions'),
    addLabel: t('org.newPosition'),
    list: async () => items(await unwrap(api.GET('/api/v1/positions', {}))),
    create: (name) => unwrap(api.POST('/api/v1/positions', { body: { name } })),
    remove: (id) => unwrap(api.DELETE('/api/v1/positions/{id}', { params: { path: { id } } })),
  };
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <NamedList api={departments} />
        <NamedList api={positions} />
      </SimpleGrid>
      <DepartmentTracking list={departments.list} />
    </Stack>
  );
}

/** A department's tracking policy: pick the department, see and set its policy. */
function DepartmentTracking({ list }: { list: () => Promise<Named[]> }) {
  const { t } = useTranslation();
  const query = useQuery({ queryKey: ['departments'], queryFn: list });
  const [picked, setPicked] = useState('');
  const id = picked || query.data?.[0]?.id || '';
  const path = { params: { path: { id } } };
  const queryKey = ['department', id, 'tracking'];
  const load = () => unwrap(api.GET('/api/v1/departments/{id}/tracking-policy', path));
  const policy = useQuery({ queryKey, queryFn: load, enabled: id !== '' });
  if (!query.data || query.data.length === 0) return null;
  return (
    <Card withBorder component="section" aria-label={t('tracking.departmentPolicy')}>
      <Stack>
        <Title order={3}>{t('tracking.departmentPolicy')}</Title>
        <NativeSelect label={t('tracking.department')} value={id} onChange={(e) => setPicked(e.currentTarget.value)} data={query.data.map((d) => ({ value: d.id, label: d.name }))} />
        <EffectivePolicy policy={policy.data} />
        <TrackingPolicyCard
          key={id}
          label={t('tracking.departmentPolicy')}
          hint={t('tracking.departmentHint')}
          queryKey={queryKey}
          load={load}
          save={(body) => unwrap(api.PUT('/api/v1/departments/{id}/tracking-policy', { ...path, body }))}
          invalidate={[['employee']]}
          remove={{
            label: t('tracking.removeDepartment'),
            question: t('tracking.removeDepartmentQuestion'),
            done: t('tracking.departmentRemoved'),
            run: () => unwrap(api.DELETE('/api/v1/departments/{id}/tracking-policy', path)),
          }}
        />
      </Stack>
    </Card>
  );
}

/** Lists come either bare or as a page with `items`. */
function items(data: Named[] | { items: Named[] }): Named[] {
  return Array.isArray(data) ? data : data.items;
}

function NamedList({ api: named }: { api: NamedApi }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const query = useQuery({ queryKey: [named.key], queryFn: named.list });
  const { register, handleSubmit, setError, reset, formState } = useForm<{ name: string }>({ defaultValues: { name: '' } });
  const server = useServerErrors(setError, ['name']);
  const create = useMutation({
    mutationFn: (name: string) => named.create(name),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('org.created') });
      reset();
      void qc.invalidateQueries({ queryKey: [named.key] });
    },
    onError: server.apply,
  });
  const remove = useMutation({
    mutationFn: (id: string) => named.remove(id),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('org.deleted') });
      void qc.invalidateQueries({ queryKey: [named.key] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const onSubmit = handleSubmit((v) => {
    server.clear();
    if (v.name.trim() === '') {
      setError('name', { message: t('app.required') });
      return;
    }
    create.mutate(v.name.trim());
  });
  return (
    <Stack>
      <Title order={2}>{named.title}</Title>
      <form onSubmit={onSubmit}>
        <Group align="flex-end">
          <TextInput label={named.addLabel} error={formState.errors.name?.message} {...register('name')} />
          <Button type="submit" loading={create.isPending}>
            {t('org.add')}
          </Button>
        </Group>
        <FormErrors errors={server.general} />
      </form>
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.length === 0 ? (
        <Empty />
      ) : (
        <Table striped aria-label={named.title}>
          <Table.Tbody>
            {query.data.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>{d.name}</Table.Td>
                <Table.Td align="right">
                  <Button size="xs" variant="subtle" color="red" aria-label={`${t('org.delete')} ${d.name}`} onClick={() => remove.mutate(d.id)}>
                    {t('org.delete')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
