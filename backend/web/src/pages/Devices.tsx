import { useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Modal, NativeSelect, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { FormErrors } from '../components/States';
import { PagedTable, usePagedQuery } from '../components/DataTable';
import { formatDateTime } from '../dates';
import { useServerErrors } from '../useApiForm';

type Device = components['schemas']['Device'];
const PAGE = 50;

/** Phones and kiosks: block or unblock, create a kiosk and show its credential once. */
export function DevicesPage() {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const [opened, { open, close }] = useDisclosure(false);
  const [credential, setCredential] = useState<{ name: string; value: string } | null>(null);
  const [pinFor, setPinFor] = useState<Device | null>(null);
  const list = usePagedQuery(['devices'], (limit, offset) => unwrap(api.GET('/api/v1/devices', { params: { query: { limit, offset } } })), PAGE);
  const toggle = useMutation({
    mutationFn: (d: Device) =>
      d.blocked
        ? unwrap(api.POST('/api/v1/devices/{id}/unblock', { params: { path: { id: d.id } } }))
        : unwrap(api.POST('/api/v1/devices/{id}/block', { params: { path: { id: d.id } } })),
    onSuccess: (d) => {
      notifications.show({ color: 'green', message: d.blocked ? t('devices.blockedDone') : t('devices.unblockedDone') });
      void qc.invalidateQueries({ queryKey: ['devices'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const rotate = useMutation({
    mutationFn: (d: Device) => unwrap(api.POST('/api/v1/devices/{id}/credential', { params: { path: { id: d.id } } })),
    onSuccess: (k) => setCredential({ name: k.device.name, value: k.credential }),
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('devices.title')}</Title>
        <Button onClick={open}>{t('devices.newKiosk')}</Button>
      </Group>
      {credential && <CredentialOnce name={credential.name} value={credential.value} onClose={() => setCredential(null)} />}
      <PagedTable
        {...list}
        label={t('devices.title')}
        rowKey={(d) => d.id}
        columns={[
          {
            header: t('devices.name'),
            cell: (d) => (
              <>
                {d.name}
                {d.app_version && (
                  <Text size="xs" c="dimmed">
                    {d.platform} {d.app_version}
                  </Text>
                )}
              </>
            ),
          },
          { header: t('devices.kind'), cell: (d) => (d.kind === 'kiosk' ? t('devices.kiosk') : t('devices.phone')) },
          { header: t('devices.lastSeen'), cell: (d) => (d.last_seen_at ? formatDateTime(d.last_seen_at, undefined, i18n.language) : '—') },
          {
            header: t('devices.pinColumn'),
            cell: (d) =>
              d.kind === 'kiosk' ? (
                <Badge color={d.kiosk_pin_set ? 'green' : 'gray'} variant="light">
                  {d.kiosk_pin_set ? t('devices.pinSet') : t('devices.pinNotSet')}
                </Badge>
              ) : (
                '—'
              ),
          },
          { header: t('devices.status'), cell: (d) => <Badge color={d.blocked ? 'red' : 'green'}>{d.blocked ? t('devices.blocked') : t('devices.active')}</Badge> },
          {
            header: '',
            cell: (d) => (
              <Group gap="xs">
                <Button
                  size="xs"
                  variant={d.blocked ? 'light' : 'outline'}
                  color={d.blocked ? 'green' : 'red'}
                  aria-label={`${d.blocked ? t('devices.unblock') : t('devices.block')} ${d.name}`}
                  loading={toggle.isPending && toggle.variables?.id === d.id}
                  onClick={() => toggle.mutate(d)}
                >
                  {d.blocked ? t('devices.unblock') : t('devices.block')}
                </Button>
                {d.kind === 'kiosk' && (
                  <Button size="xs" variant="default" aria-label={`${t('devices.newCredential')} ${d.name}`} onClick={() => rotate.mutate(d)}>
                    {t('devices.newCredential')}
                  </Button>
                )}
                {d.kind === 'kiosk' && (
                  <Button size="xs" variant="default" aria-label={`${t('devices.setPin')} ${d.name}`} onClick={() => setPinFor(d)}>
                    {t('devices.setPin')}
                  </Button>
                )}
              </Group>
            ),
          },
        ]}
      />
      <Modal opened={pinFor !== null} onClose={() => setPinFor(null)} title={`${t('devices.setPin')}: ${pinFor?.name ?? ''}`}>
        {pinFor && <KioskPinForm id={pinFor.id} onDone={() => setPinFor(null)} />}
      </Modal>
      <Modal opened={opened} onClose={close} title={t('devices.newKiosk')}>
        <CreateKioskForm
          onDone={(k) => {
            close();
            setCredential({ name: k.device.name, value: k.credential });
          }}
        />
      </Modal>
    </Stack>
  );
}

function CredentialOnce({ name, value, onClose }: { name: string; value: string; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Alert color="yellow" title={`${t('devices.credential')}: ${name}`} role="status" withCloseButton closeButtonLabel={t('app.close')} onClose={onClose}>
      <Stack gap="xs">
        <Text size="sm">{t('devices.credentialOnce')}</Text>
        <Group>
          <Code aria-label={t('devices.credential')}>{value}</Code>
          <CopyButton value={value}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" onClick={copy}>
                {copied ? t('app.copied') : t('app.copy')}
              </Button>
            )}
          </CopyButton>
        </Group>
      </Stack>
    </Alert>
  );
}

type CreateKiosk = components['schemas']['CreateKiosk'];
type KioskCredential = components['schemas']['KioskCredential'];

function CreateKioskForm({ onDone }: { onDone: (k: KioskCredential) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => unwrap(api.GET('/api/v1/sites', {})) });
  const { register, handleSubmit, setError, formState } = useForm<{ name: string; site_id: string }>({ defaultValues: { name: '', site_id: '' } });
  const server = useServerErrors(setError, ['name', 'site_id']);
  const create = useMutation({
    mutationFn: (body: CreateKiosk) => unwrap(api.POST('/api/v1/devices', { body })),
    onSuccess: (k) => {
      void qc.invalidateQueries({ queryKey: ['devices'] });
      onDone(k);
    },
    onError: server.apply,
  });
  const onSubmit = handleSubmit((v) => {
    server.clear();
    if (v.name.trim() === '') {
      setError('name', { message: t('app.required') });
      return;
    }
    create.mutate({ name: v.name.trim(), site_id: v.site_id || null });
  });
  const siteItems = sites.data ?? [];
  return (
    <form onSubmit={onSubmit}>
      <Stack>
        <TextInput label={t('devices.kioskName')} error={formState.errors.name?.message} {...register('name')} />
        <NativeSelect
          label={t('devices.site')}
          data={[{ value: '', label: '—' }, ...siteItems.map((s) => ({ value: s.id, label: s.name }))]}
          error={formState.errors.site_id?.message}
          {...register('site_id')}
        />
        <FormErrors errors={server.general} />
        <Button type="submit" loading={create.isPending}>
          {t('devices.create')}
        </Button>
      </Stack>
    </form>
  );
}

/** A kiosk's PIN, asked on the tablet to leave kiosk mode (the server keeps only its hash). */
function KioskPinForm({ id, onDone }: { id: string; onDone: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { register, handleSubmit, setError, formState } = useForm<{ pin: string }>({ defaultValues: { pin: '' } });
  const server = useServerErrors(setError, ['pin']);
  const save = useMutation({
    mutationFn: (pin: string) => unwrap(api.PUT('/api/v1/devices/{id}/kiosk-pin', { params: { path: { id } }, body: { pin } })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('devices.pinSaved') });
      void qc.invalidateQueries({ queryKey: ['devices'] });
      onDone();
    },
    onError: server.apply,
  });
  const onSubmit = handleSubmit((v) => {
    server.clear();
    if (!/^[0-9]{4,12}$/.test(v.pin)) {
      setError('pin', { message: t('devices.pinInvalid') });
      return;
    }
    save.mutate(v.pin);
  });
  return (
    <form onSubmit={onSubmit}>
      <Stack>
        <PasswordInput label={t('devices.pin')} description={t('devices.pinHint')} inputMode="numeric" autoComplete="new-password" data-autofocus error={formState.errors.pin?.message} {...register('pin')} />
        <FormErrors errors={server.general} />
        <Button type="submit" loading={save.isPending}>
          {t('devices.setPin')}
        </Button>
      </Stack>
    </form>
  );
}
