import { useState, type ReactNode } from 'react';
import { Button, Group, Modal, Stack, Text, type ButtonProps } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';

/**
 * A button that asks first: a dialog with the question, Cancel and the action's own name as the
 * confirming button. `onConfirm` runs only after the confirmation.
 */
export function ConfirmButton({
  children,
  label,
  question,
  onConfirm,
  loading,
  ...button
}: ButtonProps & { children: ReactNode; label?: string; question: string; onConfirm: () => void }) {
  const { t } = useTranslation();
  const [opened, setOpened] = useState(false);
  return (
    <>
      <Button size="xs" {...button} aria-label={label} loading={loading} onClick={() => setOpened(true)}>
        {children}
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title={label ?? children}>
        <Stack>
          <Text size="sm">{question}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              {t('app.cancel')}
            </Button>
            <Button
              color={button.color ?? 'red'}
              onClick={() => {
                setOpened(false);
                onConfirm();
              }}
            >
              {children}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/**
 * An action on one row (delete, retry, …): the listed queries refresh afterwards, success and
 * failure show as notifications.
 */
export function useRowAction<V>(fn: (v: V) => Promise<unknown>, invalidate: readonly unknown[][], done: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => {
      notifications.show({ color: 'green', message: done });
      for (const key of invalidate) void qc.invalidateQueries({ queryKey: key });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
}

/** A row's Delete button, named after the row (`Delete Night shift`), asking first. */
export function DeleteButton({ what, question, loading, onConfirm }: { what: string; question: string; loading?: boolean; onConfirm: () => void }) {
  const { t } = useTranslation();
  return (
    <ConfirmButton variant="subtle" color="red" label={`${t('org.delete')} ${what}`} question={question} loading={loading} onConfirm={onConfirm}>
      {t('org.delete')}
    </ConfirmButton>
  );
}
