import { Suspense } from 'react';
import { AppShell, Burger, Button, Group, NavLink, NativeSelect, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, Outlet, useLocation } from 'react-router';
import { logout, type CurrentUser } from './auth/session';
import { LANGUAGES, setLanguage, type Language } from './i18n';
import { navFor } from './roles';
import { Loading } from './components/States';

export function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <NativeSelect
      label={t('app.language')}
      size="xs"
      value={i18n.language}
      onChange={(e) => setLanguage(e.currentTarget.value as Language)}
      data={LANGUAGES.map((l) => ({ value: l.code, label: l.label }))}
    />
  );
}

export function Shell({ user }: { user: CurrentUser }) {
  const { t } = useTranslation();
  const [opened, { toggle }] = useDisclosure();
  const location = useLocation();
  const qc = useQueryClient();
  return (
    <AppShell header={{ height: 64 }} navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Title order={3}>{t('app.title')}</Title>
          </Group>
          <Group>
            <Text size="sm">
              {user.first_name} {user.last_name} · {t(`roles.${user.role}`)}
            </Text>
            <LanguageSelect />
            <Button
              variant="default"
              onClick={() => {
                void logout().then(() => qc.clear());
              }}
            >
              {t('app.logout')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Navigation">
        {navFor(user.role, user.must_change_password).map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={t(item.label)}
            active={location.pathname.startsWith(item.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
