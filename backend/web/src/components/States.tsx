import { Alert, Button, Center, Loader, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../problem';

/** Loading, error and empty states shared by every screen. */
export function Loading() {
  const { t } = useTranslation();
  return (
    <Center p="xl">
      <Loader aria-label={t('app.loading')} />
    </Center>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const message = error instanceof ApiError ? error.message : t('app.error');
  return (
    <Alert color="red" title={t('app.error')} role="alert">
      <Stack gap="xs">
        <Text size="sm">{message}</Text>
        {onRetry && (
          <Button size="xs" variant="light" onClick={onRetry}>
            {t('app.retry')}
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Empty({ text }: { text?: string }) {
  const { t } = useTranslation();
  return (
    <Text c="dimmed" p="md">
      {text ?? t('app.empty')}
    </Text>
  );
}

/** Errors of a submitted form that belong to no shown field. */
export function FormErrors({ errors }: { errors: string[] }) {
  if (errors.length === 0) return null;
  return (
    <Alert color="red" role="alert">
      {errors.map((e) => (
        <Text size="sm" key={e}>
          {e}
        </Text>
      ))}
    </Alert>
  );
}
