/** The app's three pages, chosen by path (the coordinator answers all three with index.html). */
export type Route = 'landing' | 'site' | 'admin';

export function routeOf(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '');
  if (path === '/site' || path.startsWith('/site/')) return 'site';
  if (path === '/admin' || path.startsWith('/admin/')) return 'admin';
  return 'landing';
}

export const ROUTE_TITLES: Readonly<Record<Route, string>> = {
  landing: 'facmic — federated learning in the browser',
  site: 'facmic — hospital',
  admin: 'facmic — coordinator dashboard',
};
