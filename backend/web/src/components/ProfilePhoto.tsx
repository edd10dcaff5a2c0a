import { useEffect, useState } from 'react';
import { Button, Card, Group, Image, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { accessToken, refresh } from '../auth/session';
import { ApiError, fieldErrors } from '../problem';
import { FormErrors } from './States';

/**
 * An image the API serves behind the token (an <img src> cannot send one), as an object URL;
 * `null` while loading or when there is none. `version` changes refetch it.
 */
export function useAuthImage(path: string | null, version?: string | null): { url: string | null; missing: boolean } {
  const [url, setUrl] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    setUrl(null);
    setMissing(false);
    if (!path) return;
    let objectUrl: string | null = null;
    let cancelled = false;
    const get = () => fetch(path, { headers: { Authorization: `Bearer ${accessToken() ?? ''}` }, cache: 'no-cache' });
    (async () => {
      let r = await get();
      if (r.status === 401 && (await refresh())) r = await get();
      if (!r.ok) return setMissing(true);
      objectUrl = URL.createObjectURL(await r.blob());
      if (!cancelled) setUrl(objectUrl);
    })().catch(() => setMissing(true));
    return () => {
      cancelled = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [path, version]);
  return { url, missing };
}

type PhotoPath = '/api/v1/me/photo' | '/api/v1/employees/{id}/photo';

/**
 * A profile photo: shown when there is one (`version` is its `photo_updated_at`), uploaded,
 * replaced or removed; `onChanged` gets the new version (`null`: removed).
 */
export function ProfilePhotoCard({ who, employeeId, version, onChanged }: { who: string; employeeId?: string; version: string | null | undefined; onChanged: (version: string | null) => void }) {
  const { t } = useTranslation();
  const [file, setFile] = useState<File | null>(null);
  const [inputKey, setInputKey] = useState(0);
  const [errors, setErrors] = useState<string[]>([]);
  const path: PhotoPath = employeeId ? '/api/v1/employees/{id}/photo' : '/api/v1/me/photo';
  const params = { params: { path: { id: employeeId ?? '' } } };
  const image = useAuthImage(version ? (employeeId ? `/api/v1/employees/${employeeId}/photo` : '/api/v1/me/photo') : null, version);
  const done = (v: string | null, message: string) => {
    setFile(null);
    setInputKey((k) => k + 1);
    setErrors([]);
    onChanged(v);
    notifications.show({ color: 'green', message });
  };
  const failed = (e: Error) => setErrors(e instanceof ApiError ? fieldErrors(e.problem, []).general : [e.message]);
  const upload = useMutation({
    mutationFn: (photo: File) =>
      unwrap(
        api.PUT(path, {
          ...params,
          body: { photo: '' },
          bodySerializer: () => {
            const form = new FormData();
            form.append('photo', photo, photo.name);
            return form;
          },
        }),
      ),
    onSuccess: (r) => done(r.photo_updated_at, t('photo.saved')),
    onError: failed,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE(path, params)),
    onSuccess: () => done(null, t('photo.removed')),
    onError: failed,
  });
  const inputId = `profile-photo-${employeeId ?? 'me'}`;
  return (
    <Card withBorder component="section" aria-label={t('photo.title')}>
      <Stack>
        <Title order={3}>{t('photo.title')}</Title>
        {version && image.url ? <Image src={image.url} alt={t('photo.of', { name: who })} w={160} radius="sm" /> : <Text c="dimmed">{t('photo.none')}</Text>}
        <Stack gap={4}>
          <Text component="label" htmlFor={inputId} size="sm" fw={500}>
            {t('photo.file')}
          </Text>
          <input key={inputKey} id={inputId} type="file" accept="image/jpeg,image/png,image/webp" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </Stack>
        <FormErrors errors={errors} />
        <Group>
          <Button disabled={!file} loading={upload.isPending} onClick={() => file && upload.mutate(file)}>
            {version ? t('photo.replace') : t('photo.upload')}
          </Button>
          {version && (
            <Button color="red" variant="light" loading={remove.isPending} onClick={() => remove.mutate()}>
              {t('photo.remove')}
            </Button>
          )}
        </Group>
      </Stack>
    </Card>
  );
}
