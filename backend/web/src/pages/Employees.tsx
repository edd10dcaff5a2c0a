import { useState } from 'react';
import { Badge, Button, Checkbox, Group, Modal, NativeSelect, Pagination, PasswordInput, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue, useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { z } from 'zod';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { Empty, ErrorState, FormErrors, Loading } from '../components/States';
import { useServerErrors } from '../useApiForm';
import { pageCount, pageOffset } from '../paging';

const PAGE = 50;

export function EmployeesPage() {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const [page, setPage] = useState(1);
  const [opened, { open, close }] = useDisclosure(false);
  const query = useQuery({
    queryKey: ['employees', q, page],
    queryFn: () =>
      unwrap(api.GET('/api/v1/employees', { params: { query: { q: q || undefined, limit: PAGE, offset: pageOffset(page, PAGE) } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('employees.title')}</Title>
        <Button onClick={open}>{t('employees.new')}</Button>
      </Group>
      <TextInput
        label={t('employees.search')}
        type="search"
        value={search}
        onChange={(e) => {
          setSearch(e.currentTarget.value);
          setPage(1);
        }}
      />
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : query.data.items.length === 0 ? (
        <Empty />
      ) : (
        <>
          <Text size="sm" c="dimmed">
            {t('employees.total', { count: query.data.total })}
          </Text>
          <Table striped highlightOnHover aria-label={t('employees.title')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('employees.name')}</Table.Th>
                <Table.Th>{t('employees.login')}</Table.Th>
                <Table.Th>{t('employees.role')}</Table.Th>
                <Table.Th>{t('employees.status')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {query.data.items.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>
                    <Link to={`/employees/${e.id}`}>
                      {e.last_name} {e.first_name}
                    </Link>
                  </Table.Td>
                  <Table.Td>{e.login}</Table.Td>
                  <Table.Td>{t(`roles.${e.role}`)}</Table.Td>
                  <Table.Td>
                    <Badge color={e.status === 'active' ? 'green' : 'gray'}>{t(`status.${e.status}`)}</Badge>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Pagination
            total={pageCount(query.data.total, PAGE)}
            value={page}
            onChange={setPage}
            getControlProps={(control) => ({ 'aria-label': control })}
            getItemProps={(p) => ({ 'aria-label': `${t('employees.page')} ${p}` })}
          />
        </>
      )}
      <Modal opened={opened} onClose={close} title={t('employees.new')}>
        <CreateEmployeeForm onDone={close} />
      </Modal>
    </Stack>
  );
}

const createSchema = z.object({
  login: z.string().trim().min(1).max(64),
  password: z.string().min(8),
  first_name: z.string().trim().min(1).max(100),
  last_name: z.string().trim().min(1).max(100),
  role: z.enum(['admin', 'operator', 'user']),
  department_id: z.string(),
  position_id: z.string(),
  scope_department_ids: z.array(z.string()),
});
type CreateForm = z.infer<typeof createSchema>;
type CreateEmployee = components['schemas']['CreateEmployee'];

function CreateEmployeeForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { register, handleSubmit, setError, formState, watch, setValue } = useForm<CreateForm>({
    defaultValues: { login: '', password: '', first_name: '', last_name: '', role: 'user', department_id: '', position_id: '', scope_department_ids: [] },
  });
  const server = useServerErrors(setError, ['login', 'password', 'first_name', 'last_name', 'role', 'department_id', 'position_id']);
  const departments = useQuery({ queryKey: ['departments'], queryFn: () => unwrap(api.GET('/api/v1/departments', {})) });
  const positions = useQuery({ queryKey: ['positions'], queryFn: () => unwrap(api.GET('/api/v1/positions', {})) });
  const role = watch('role');
  const scope = watch('scope_department_ids');
  const create = useMutation({
    mutationFn: (body: CreateEmployee) => unwrap(api.POST('/api/v1/employees', { body })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('employees.created') });
      void qc.invalidateQueries({ queryKey: ['employees'] });
      onDone();
    },
    onError: server.apply,
  });
  const onSubmit = handleSubmit((v) => {
    server.clear();
    const parsed = createSchema.safeParse(v);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) setError(issue.path[0] as keyof CreateForm, { message: issue.message });
      return;
    }
    const { scope_department_ids, department_id, position_id, ...rest } = parsed.data;
    create.mutate({
      ...rest,
      department_id: department_id || null,
      position_id: position_id || null,
      // Operators manage the departments ticked below; other roles have no scope.
      scope: rest.role === 'operator' ? { department_ids: scope_department_ids, site_ids: [] } : null,
      site_ids: [],
      allowed_device_ids: [],
      external_ids: {},
    } as CreateEmployee);
  });
  return (
    <form onSubmit={onSubmit}>
      <Stack>
        <TextInput label={t('employees.login')} error={formState.errors.login?.message} {...register('login')} />
        <PasswordInput label={t('employees.password')} error={formState.errors.password?.message} {...register('password')} />
        <TextInput label={t('employees.firstName')} error={formState.errors.first_name?.message} {...register('first_name')} />
        <TextInput label={t('employees.lastName')} error={formState.errors.last_name?.message} {...register('last_name')} />
        <NativeSelect
          label={t('employees.role')}
          data={(['user', 'operator', 'admin'] as const).map((r) => ({ value: r, label: t(`roles.${r}`) }))}
          error={formState.errors.role?.message}
          {...register('role')}
        />
        <NativeSelect
          label={t('employees.department')}
          data={[{ value: '', label: '—' }, ...(departments.data ?? []).map((d) => ({ value: d.id, label: d.name }))]}
          error={formState.errors.department_id?.message}
          {...register('department_id')}
        />
        <NativeSelect
          label={t('employees.position')}
          data={[{ value: '', label: '—' }, ...(positions.data ?? []).map((d) => ({ value: d.id, label: d.name }))]}
          error={formState.errors.position_id?.message}
          {...register('position_id')}
        />
        {role === 'operator' && (
          <Checkbox.Group
            label={t('employees.scope')}
            description={t('employees.scopeHint')}
            value={scope}
            onChange={(v) => setValue('scope_department_ids', v)}
          >
            <Stack gap={4} mt={4}>
              {(departments.data ?? []).map((d) => (
                <Checkbox key={d.id} value={d.id} label={d.name} />
              ))}
            </Stack>
          </Checkbox.Group>
        )}
        <FormErrors errors={server.general} />
        <Button type="submit" loading={create.isPending}>
          {t('app.save')}
        </Button>
      </Stack>
    </form>
  );
}
