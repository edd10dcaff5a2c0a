import { useState } from 'react';
import { Code, Group, Spoiler, Stack, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { PagedTable, usePagedQuery } from '../components/DataTable';
import { formatDateTime } from '../dates';

const PAGE = 50;

/** Who changed what and when, newest first (administrators only). */
export function AuditPage() {
  const { t, i18n } = useTranslation();
  const [typeInput, setTypeInput] = useState('');
  const [entityType] = useDebouncedValue(typeInput.trim(), 300);
  const list = usePagedQuery(['audit', entityType], (limit, offset) =>
    unwrap(api.GET('/api/v1/audit', { params: { query: { entity_type: entityType || undefined, limit, offset } } })), PAGE);
  return (
    <Stack>
      <Title order={2}>{t('audit.title')}</Title>
      <Group>
        <TextInput label={t('audit.entityType')} placeholder="employee, site, device…" value={typeInput} onChange={(e) => { setTypeInput(e.currentTarget.value); list.onPage(1); }} />
      </Group>
      <PagedTable
        {...list}
        label={t('audit.title')}
        rowKey={(a) => a.id}
        columns={[
          { header: t('audit.at'), cell: (a) => formatDateTime(a.at, undefined, i18n.language) },
          { header: t('audit.actor'), cell: (a) => a.actor_login ?? '—' },
          { header: t('audit.action'), cell: (a) => <Code>{a.action}</Code> },
          {
            header: t('audit.details'),
            cell: (a) =>
              (a.before != null || a.after != null) && (
                <Spoiler maxHeight={40} showLabel="…" hideLabel="↑">
                  <Code block>{JSON.stringify({ before: a.before ?? undefined, after: a.after ?? undefined }, null, 1)}</Code>
                </Spoiler>
              ),
          },
        ]}
      />
    </Stack>
  );
}
