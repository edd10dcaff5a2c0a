import { Button, Card, PasswordInput, Stack, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { ApiError } from '../problem';
import { FormErrors } from '../components/States';
import { useServerErrors } from '../useApiForm';

interface Form {
  current_password: string;
  new_password: string;
}

export function PasswordPage() {
  const { t } = useTranslation();
  const { register, handleSubmit, setError, reset, formState } = useForm<Form>({ defaultValues: { current_password: '', new_password: '' } });
  const server = useServerErrors(setError, ['current_password', 'new_password']);
  const change = useMutation({
    mutationFn: (body: Form) => unwrap(api.POST('/api/v1/me/password', { body })),
    onSuccess: () => {
      reset();
      notifications.show({ color: 'green', message: t('password.changed') });
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === 'wrong_password') setError('current_password', { message: e.message });
      else server.apply(e);
    },
  });
  return (
    <Card withBorder maw={420} component="form" onSubmit={handleSubmit((v) => { server.clear(); change.mutate(v); })}>
      <Stack>
        <Title order={2}>{t('password.title')}</Title>
        <PasswordInput label={t('password.current')} autoComplete="current-password" error={formState.errors.current_password?.message} {...register('current_password', { required: true })} />
        <PasswordInput label={t('password.next')} autoComplete="new-password" error={formState.errors.new_password?.message} {...register('new_password', { required: true })} />
        <FormErrors errors={server.general} />
        <Button type="submit" loading={change.isPending}>
          {t('app.save')}
        </Button>
      </Stack>
    </Card>
  );
}
