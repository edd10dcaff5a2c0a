import { useState } from 'react';
import { Button, Card, Group, Stack, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useTranslation } from 'react-i18next';
import { download } from '../api/client';
import { ErrorState } from '../components/States';
import { currentMonth } from '../dates';

export function ReportsPage() {
  const { t } = useTranslation();
  const [month, setMonth] = useState(currentMonth(new Date()));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const valid = /^\d{4}-(0[1-9]|1[0-2])$/.test(month);
  const get = async (which: string, path: string, name: string) => {
    setBusy(which);
    setError(null);
    try {
      const f = await download(path, name);
      notifications.show({ color: 'green', message: t('reports.downloaded', { name: f.name }) });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Stack>
      <Title order={2}>{t('reports.title')}</Title>
      <Card withBorder>
        <Stack>
          <TextInput label={t('reports.month')} placeholder="YYYY-MM" value={month} onChange={(e) => setMonth(e.currentTarget.value)} error={valid ? undefined : 'YYYY-MM'} />
          <Group>
            <Button disabled={!valid} loading={busy === 't13'} onClick={() => void get('t13', `/api/v1/reports/t13?month=${month}`, `t13-${month}.xlsx`)}>
              {t('reports.t13')}
            </Button>
            {valid && (
              <>
                <Button variant="light" loading={busy === 'xlsx'} onClick={() => void get('xlsx', `/api/v1/reports/summary/export?month=${month}&format=xlsx`, `summary-${month}.xlsx`)}>
                  {t('reports.summaryXlsx')}
                </Button>
                <Button variant="light" loading={busy === 'csv'} onClick={() => void get('csv', `/api/v1/reports/summary/export?month=${month}&format=csv`, `summary-${month}.csv`)}>
                  {t('reports.summaryCsv')}
                </Button>
              </>
            )}
          </Group>
          {error !== null && <ErrorState error={error} />}
        </Stack>
      </Card>
    </Stack>
  );
}
