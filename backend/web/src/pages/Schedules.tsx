import { Stack, Tabs, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useTab } from '../hooks/useTab';
import { AbsencesTab } from './schedules/Absences';
import { AssignmentsTab } from './schedules/Assignments';
import { HolidaysTab } from './schedules/Holidays';
import { SchedulesTab } from './schedules/SchedulesTab';
import { TemplatesTab } from './schedules/Templates';

const TABS = ['templates', 'schedules', 'assignments', 'holidays', 'absences'] as const;

/**
 * Shift templates, schedules, assignments, holidays and absences. Administrators edit all of it;
 * operators read templates, schedules and holidays and assign schedules and absences in their scope.
 */
export function SchedulesPage({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const [tab, setTab] = useTab(TABS);
  return (
    <Stack>
      <Title order={2}>{t('schedules.title')}</Title>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          {TABS.map((k) => (
            <Tabs.Tab key={k} value={k}>
              {t(`schedules.${k}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="templates" pt="md">
          <TemplatesTab admin={admin} />
        </Tabs.Panel>
        <Tabs.Panel value="schedules" pt="md">
          <SchedulesTab admin={admin} />
        </Tabs.Panel>
        <Tabs.Panel value="assignments" pt="md">
          <AssignmentsTab />
        </Tabs.Panel>
        <Tabs.Panel value="holidays" pt="md">
          <HolidaysTab admin={admin} />
        </Tabs.Panel>
        <Tabs.Panel value="absences" pt="md">
          <AbsencesTab />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
