import { useState } from 'react';
import { Group, NativeSelect, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';

/**
 * Picks one employee of the caller's scope: a server-side search (10,000 employees stay fast)
 * and a list of the first matches. `value` is the employee's id, '' for none.
 */
export function EmployeePicker({ value, onChange, error }: { value: string; onChange: (id: string) => void; error?: string }) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const found = useQuery({
    queryKey: ['employees', 'picker', q],
    queryFn: () => unwrap(api.GET('/api/v1/employees', { params: { query: { q: q || undefined, limit: 20, offset: 0 } } })),
  });
  const items = found.data?.items ?? [];
  return (
    <Group grow align="flex-start">
      <TextInput label={t('picker.search')} type="search" value={search} onChange={(e) => setSearch(e.currentTarget.value)} />
      <NativeSelect
        label={t('picker.employee')}
        value={value}
        error={error}
        onChange={(e) => onChange(e.currentTarget.value)}
        data={[{ value: '', label: found.isPending ? t('app.loading') : '—' }, ...items.map((e) => ({ value: e.id, label: `${e.last_name} ${e.first_name} (${e.login})` }))]}
      />
    </Group>
  );
}
