import type { CurrentUser } from './auth/session';

export type Role = CurrentUser['role'];

/** Administrators and operators manage employees; operators only within their scope. */
export function canManage(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}

export interface NavItem {
  to: string;
  label: string; // i18n key
}

/**
 * The navigation a role sees; the server enforces the same rules on every request. An account
 * that must change its password sees only that screen.
 */
export function navFor(role: Role, mustChangePassword = false): NavItem[] {
  if (mustChangePassword) return [{ to: '/me/password', label: 'nav.password' }];
  const items: NavItem[] = [];
  if (canManage(role)) {
    items.push(
      { to: '/today', label: 'nav.today' },
      { to: '/employees', label: 'nav.employees' },
      { to: '/attendance', label: 'nav.events' },
      { to: '/review', label: 'nav.review' },
      { to: '/schedules', label: 'nav.schedules' },
      { to: '/reports', label: 'nav.reports' },
      { to: '/privacy', label: 'nav.privacy' },
    );
  }
  if (role === 'admin') {
    items.push(
      { to: '/organisation', label: 'nav.organisation' },
      { to: '/sites', label: 'nav.sites' },
      { to: '/devices', label: 'nav.devices' },
      { to: '/consent-texts', label: 'nav.consentTexts' },
      { to: '/audit', label: 'nav.audit' },
      { to: '/settings', label: 'nav.settings' },
      { to: '/jobs', label: 'nav.jobs' },
      { to: '/terminals', label: 'nav.terminals' },
      { to: '/iiko', label: 'nav.iiko' },
    );
  }
  items.push(
    { to: '/me/attendance', label: 'nav.myAttendance' },
    { to: '/me/consents', label: 'nav.myConsents' },
    { to: '/me/tracking', label: 'nav.myTracking' },
    { to: '/me/telegram', label: 'nav.myTelegram' },
    { to: '/me/privacy', label: 'nav.myPrivacy' },
    { to: '/me/password', label: 'nav.password' },
  );
  return items;
}

export function homeFor(role: Role): string {
  return canManage(role) ? '/today' : '/me/consents';
}
