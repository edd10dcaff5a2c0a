import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { refresh, session, subscribe } from './auth/session';
import { LoginPage } from './pages/Login';
import { Shell } from './Shell';
import { EmployeesPage } from './pages/Employees';
import { EmployeePage } from './pages/Employee';
import { ConsentTextsPage } from './pages/ConsentTexts';
import { SitesPage } from './pages/Sites';
import { MyConsentsPage } from './pages/MyConsents';
import { ReportsPage } from './pages/Reports';
import { PasswordPage } from './pages/Password';
import { MyAttendancePage } from './pages/MyAttendance';
import { MyTelegramPage } from './pages/MyTelegram';
import { MyTrackingPage } from './pages/MyTracking';
import { DashboardPage } from './pages/Dashboard';
import { DevicesPage } from './pages/Devices';
import { OrganisationPage } from './pages/Organisation';
import { EventsPage } from './pages/Events';
import { AuditPage } from './pages/Audit';
import { homeFor, canManage } from './roles';

// The kiosk page pulls in the camera code: only the shared tablet needs it.
const KioskPage = lazy(() => import('./pages/Kiosk'));
// Screens used less often load on first use, keeping the first load small.
const SchedulesPage = lazy(() => import('./pages/Schedules').then((m) => ({ default: m.SchedulesPage })));
const SettingsPage = lazy(() => import('./pages/Settings').then((m) => ({ default: m.SettingsPage })));
const PrivacyRequestsPage = lazy(() => import('./pages/PrivacyRequests').then((m) => ({ default: m.PrivacyRequestsPage })));
const MyPrivacyPage = lazy(() => import('./pages/MyPrivacy').then((m) => ({ default: m.MyPrivacyPage })));
const TerminalsPage = lazy(() => import('./pages/Terminals').then((m) => ({ default: m.TerminalsPage })));
const IikoPage = lazy(() => import('./pages/Iiko').then((m) => ({ default: m.IikoPage })));
const JobsPage = lazy(() => import('./pages/Jobs').then((m) => ({ default: m.JobsPage })));
// The flagged review carries its virtualiser: loaded on first use.
const ReviewPage = lazy(() => import('./pages/Review').then((m) => ({ default: m.ReviewPage })));

function useSession() {
  return useSyncExternalStore(subscribe, session);
}

export function App() {
  const s = useSession();
  // On a reload the access token is gone: the refresh cookie brings the session back.
  const [restoring, setRestoring] = useState(() => session() === null);
  useEffect(() => {
    if (!restoring) return;
    refresh()
      .catch(() => null)
      .finally(() => setRestoring(false));
  }, [restoring]);

  const loading = (
    <Center h="100vh">
      <Loader aria-label="Loading" />
    </Center>
  );
  if (restoring) return loading;

  return (
    <Suspense fallback={loading}>
      <Routes>
        <Route path="/kiosk" element={<KioskPage />} />
        {!s ? (
          <Route path="*" element={<LoginPage />} />
        ) : s.user.must_change_password ? (
          // A password an administrator chose: nothing else until the holder changes it.
          <Route element={<Shell user={s.user} />}>
            <Route path="/me/password" element={<PasswordPage forced />} />
            <Route path="*" element={<Navigate to="/me/password" replace />} />
          </Route>
        ) : (
          <Route element={<Shell user={s.user} />}>
            {canManage(s.user.role) && (
              <>
                <Route path="/today" element={<DashboardPage />} />
                <Route path="/attendance" element={<EventsPage />} />
                <Route path="/employees" element={<EmployeesPage />} />
                <Route path="/employees/:id" element={<EmployeePage admin={s.user.role === 'admin'} />} />
                <Route path="/reports" element={<ReportsPage />} />
                <Route path="/review" element={<ReviewPage />} />
                <Route path="/schedules" element={<SchedulesPage admin={s.user.role === 'admin'} />} />
                <Route path="/privacy" element={<PrivacyRequestsPage admin={s.user.role === 'admin'} />} />
              </>
            )}
            {s.user.role === 'admin' && (
              <>
                <Route path="/consent-texts" element={<ConsentTextsPage />} />
                <Route path="/sites" element={<SitesPage />} />
                <Route path="/devices" element={<DevicesPage />} />
                <Route path="/organisation" element={<OrganisationPage />} />
                <Route path="/audit" element={<AuditPage />} />
                <Route path="/settings" element={<SettingsPage />} />
                <Route path="/jobs" element={<JobsPage />} />
                <Route path="/terminals" element={<TerminalsPage />} />
                <Route path="/iiko" element={<IikoPage />} />
              </>
            )}
            <Route path="/me/consents" element={<MyConsentsPage />} />
            <Route path="/me/attendance" element={<MyAttendancePage />} />
            <Route path="/me/password" element={<PasswordPage />} />
            <Route path="/me/telegram" element={<MyTelegramPage role={s.user.role} />} />
            <Route path="/me/tracking" element={<MyTrackingPage />} />
            <Route path="/me/privacy" element={<MyPrivacyPage />} />
            <Route path="*" element={<Navigate to={homeFor(s.user.role)} replace />} />
          </Route>
        )}
      </Routes>
    </Suspense>
  );
}
