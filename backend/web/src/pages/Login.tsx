import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title, Anchor } from '@mantine/core';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { login } from '../auth/session';
import { ApiError } from '../problem';
import { FormErrors } from '../components/States';
import { LanguageSelect } from '../Shell';
import { useServerErrors } from '../useApiForm';

interface Form {
  login: string;
  password: string;
}

export function LoginPage() {
  const { t } = useTranslation();
  const { register, handleSubmit, setError, formState } = useForm<Form>({ defaultValues: { login: '', password: '' } });
  const server = useServerErrors(setError, ['login', 'password']);
  const onSubmit = handleSubmit(async (v) => {
    server.clear();
    try {
      await login(v.login, v.password);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_credentials') server.apply(new ApiError({ ...e.problem, errors: [], detail: t('login.failed') }));
      else if (e instanceof ApiError && e.status === 429) server.apply(new ApiError({ ...e.problem, errors: [], detail: t('login.rateLimited') }));
      else server.apply(e);
    }
  });
  return (
    <Center h="100vh">
      <Paper withBorder p="xl" w={360} component="form" onSubmit={onSubmit} aria-label={t('login.title')}>
        <Stack>
          <Title order={2}>{t('login.title')}</Title>
          <TextInput
            label={t('login.login')}
            autoComplete="username"
            required
            error={formState.errors.login?.message}
            {...register('login', { required: true })}
          />
          <PasswordInput
            label={t('login.password')}
            autoComplete="current-password"
            required
            error={formState.errors.password?.message}
            {...register('password', { required: true })}
          />
          <FormErrors errors={server.general} />
          <Button type="submit" loading={formState.isSubmitting}>
            {t('login.submit')}
          </Button>
          <LanguageSelect />
          <Anchor component={Link} to="/kiosk" size="sm">
            {t('login.kiosk')}
          </Anchor>
        </Stack>
      </Paper>
    </Center>
  );
}
