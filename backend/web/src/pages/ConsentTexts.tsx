import { Button, Card, NativeSelect, Stack, Text, Textarea, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { CONSENT_KINDS, type ConsentKind } from '../consent';
import { Empty, ErrorState, FormErrors, Loading } from '../components/States';
import { useServerErrors } from '../useApiForm';

interface Form {
  kind: ConsentKind;
  body: string;
}

export function ConsentTextsPage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const texts = useQuery({ queryKey: ['consent-texts'], queryFn: () => unwrap(api.GET('/api/v1/consent-texts')) });
  const { register, handleSubmit, setError, reset, formState } = useForm<Form>({ defaultValues: { kind: 'biometric', body: '' } });
  const server = useServerErrors(setError, ['kind', 'body']);
  const publish = useMutation({
    mutationFn: (body: Form) => unwrap(api.POST('/api/v1/consent-texts', { body })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: t('consent.published') });
      reset({ kind: 'biometric', body: '' });
      void qc.invalidateQueries({ queryKey: ['consent-texts'] });
    },
    onError: server.apply,
  });
  return (
    <Stack>
      <Title order={2}>{t('nav.consentTexts')}</Title>
      {texts.isPending ? (
        <Loading />
      ) : texts.isError ? (
        <ErrorState error={texts.error} onRetry={() => void texts.refetch()} />
      ) : texts.data.length === 0 ? (
        <Empty text={t('consent.noText')} />
      ) : (
        texts.data.map((x) => (
          <Card withBorder key={x.kind}>
            <Title order={4}>
              {t(`consent.${x.kind as ConsentKind}`)} · {t('consent.version')} {x.version}
            </Title>
            <Text style={{ whiteSpace: 'pre-wrap' }}>{x.body}</Text>
          </Card>
        ))
      )}
      <Card withBorder component="form" onSubmit={handleSubmit((v) => { server.clear(); publish.mutate(v); })}>
        <Stack>
          <Title order={3}>{t('consent.publish')}</Title>
          <NativeSelect label={t('consent.kind')} data={CONSENT_KINDS.map((k) => ({ value: k, label: t(`consent.${k}`) }))} {...register('kind')} />
          <Textarea label={t('consent.body')} autosize minRows={4} error={formState.errors.body?.message} {...register('body', { required: true })} />
          <FormErrors errors={server.general} />
          <Button type="submit" loading={publish.isPending}>
            {t('consent.publish')}
          </Button>
        </Stack>
      </Card>
    </Stack>
  );
}
