import { lazy, Suspense, useEffect } from 'react';
import { shareAdminSession } from './lib/admin-session.ts';
import { routeOf, ROUTE_TITLES, type Route } from './lib/routes.ts';
import { LandingPage } from './pages/landing-page.tsx';

const SitePage = lazy(() => import('./pages/site/site-page.tsx').then((m) => ({ default: m.SitePage })));
const AdminPage = lazy(() => import('./pages/admin/admin-page.tsx').then((m) => ({ default: m.AdminPage })));

const NAV: readonly { route: Route; href: string; label: string }[] = [
  { route: 'landing', href: '/', label: 'About' },
  { route: 'site', href: '/site', label: 'Hospital' },
  { route: 'admin', href: '/admin', label: 'Dashboard' },
];

export function App() {
  const route = routeOf(window.location.pathname);
  useEffect(() => {
    document.title = ROUTE_TITLES[route];
  }, [route]);
  // Every page of the app, in every tab, shares the admin's one sign-in.
  useEffect(() => shareAdminSession(), []);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header-inner">
          <a className="brand" href="/">
            facmic<small>federated learning in the browser</small>
          </a>
          <nav className="app-nav" aria-label="Pages">
            {NAV.map((item) => (
              <a key={item.route} href={item.href} aria-current={item.route === route ? 'page' : undefined}>
                {item.label}
              </a>
            ))}
          </nav>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {route === 'site' ? <SitePage /> : route === 'admin' ? <AdminPage /> : <LandingPage />}
        </Suspense>
      </main>
    </>
  );
}
