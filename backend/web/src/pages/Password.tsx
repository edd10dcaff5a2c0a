import { useMemo } from 'react';
import { Alert, Button, Card, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { session, updateUser } from '../auth/session';
import { homeFor } from '../roles';
import { api, unwrap } from '../api/client';
import { FormErrors } from '../components/States';
import { MIN_PASSWORD, passwordSchema } from '../selfService';
import { useFormMutation, zodResolver } from '../useApiForm';

/** Changes the caller's password; the server ends their other sessions and answers
 * `wrong_password` on the current one (shown on its field). */
export function PasswordPage({ forced = false }: { forced?: boolean }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const schema = useMemo(() => passwordSchema(t), [t]);
  const form = useForm({ resolver: zodResolver(schema), defaultValues: { current_password: '', new_password: '', repeat: '' } });
  const { register, formState } = form;
  const send = useFormMutation(form, ['current_password', 'new_password'], ({ current_password, new_password }) => unwrap(api.POST('/api/v1/me/password', { body: { current_password, new_password } })), {
    done: t('password.changed'),
    codeFields: { wrong_password: { field: 'current_password', message: t('password.wrong') } },
    onSuccess: () => {
      const s = session();
      if (s?.user.must_change_password) {
        // The server cleared the flag with the change: the whole panel opens again.
        updateUser({ ...s.user, must_change_password: false });
        void navigate(homeFor(s.user.role), { replace: true });
      }
    },
  });
  return (
    <Card withBorder maw={420} component="form" onSubmit={send.submit} aria-label={t('password.title')}>
      <Stack>
        <Title order={2}>{t('password.title')}</Title>
        {forced && (
          <Alert color="orange" role="status">
            {t('password.forced')}
          </Alert>
        )}
        <Text size="sm" c="dimmed">
          {t('password.hint', { min: MIN_PASSWORD })}
        </Text>
        <PasswordInput label={t('password.current')} autoComplete="current-password" error={formState.errors.current_password?.message} {...register('current_password')} />
        <PasswordInput label={t('password.next')} autoComplete="new-password" error={formState.errors.new_password?.message} {...register('new_password')} />
        <PasswordInput label={t('password.repeat')} autoComplete="new-password" error={formState.errors.repeat?.message} {...register('repeat')} />
        <FormErrors errors={send.general} />
        <Button type="submit" loading={send.pending}>
          {t('app.save')}
        </Button>
      </Stack>
    </Card>
  );
}
