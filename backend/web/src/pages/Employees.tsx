import { useState } from 'react';
import { Badge, Button, Checkbox, Group, Modal, NativeSelect, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue, useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { z } from 'zod';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { FormErrors } from '../components/States';
import { PagedTable, usePagedQuery } from '../components/DataTable';
import { useServerErrors } from '../useApiForm';

const PAGE = 50;

export function EmployeesPage() {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const [opened, { open, close }] = useDisclosure(false);
  const list = usePagedQuery(['employees', q], (limit, offset) =>
    unwrap(api.GET('/api/v1/employees', { params: { query: { q: q || undefined, limit, offset } } })), PAGE);
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
          list.onPage(1);
        }}
      />
      <PagedTable
        {...list}
        label={t('employees.title')}
        rowKey={(e) => e.id}
        highlightOnHover
        summary={(total) => (
          <Text size="sm" c="dimmed">
            {t('employees.total', { count: total })}
          </Text>
        )}
        columns={[
          {
            header: t('employees.name'),
            cell: (e) => (
              <Link to={`/employees/${e.id}`}>
                {e.last_name} {e.first_name}
              </Link>
            ),
          },
          { header: t('employees.login'), cell: (e) => e.login },
          { header: t('employees.role'), cell: (e) => t(`roles.${e.role}`) },
          { header: t('employees.status'), cell: (e) => <Badge color={e.status === 'active' ? 'green' : 'gray'}>{t(`status.${e.status}`)}</Badge> },
        ]}
      />
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
