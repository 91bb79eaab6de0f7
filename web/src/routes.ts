// The routes of the application: path, navigation label, role check and the page module.
// main.ts draws them; test/navgroups.test.ts checks that the navigation places each of them.

import type { Key } from './i18n';
import { can, session } from './state';

export type Cleanup = (() => void) | void;
export type PageRender = (root: HTMLElement, params: URLSearchParams) => Cleanup | Promise<Cleanup>;

export interface Route {
  path: string;
  nav?: Key;
  /** The label inside its group's menu when it differs from `nav` (see navgroups.ts). */
  menu?: Key;
  /** The page title of a route outside the navigation bar. */
  title?: Key;
  allowed?: () => boolean;
  load: () => Promise<PageRender>;
}

/** Open data (no login needed: main.ts draws it with or without a session). */
export const PUBLIC_ROUTE: Route = { path: 'public', nav: 'nav.public', load: () => import('./pages/public').then((m) => m.render) };

export const ROUTES: Route[] = [
  { path: 'map', nav: 'nav.map', load: () => import('./pages/map').then((m) => m.render) },
  { path: 'dashboard', nav: 'nav.dashboard', load: () => import('./pages/dashboard').then((m) => m.render) },
  { path: 'near-repeat', nav: 'nav.nearRepeat', load: () => import('./pages/nearrepeat').then((m) => m.render) },
  { path: 'forecast', nav: 'nav.forecast', load: () => import('./pages/forecast').then((m) => m.render) },
  { path: 'risk-terrain', nav: 'nav.riskTerrain', load: () => import('./pages/riskterrain').then((m) => m.render) },
  { path: 'planning', nav: 'nav.planning', load: () => import('./pages/planning').then((m) => m.render) },
  { path: 'coordination', nav: 'nav.coordination', menu: 'nav.menu.coordination', load: () => import('./pages/coordination').then((m) => m.render) },
  { path: 'evaluation', nav: 'nav.evaluation', load: () => import('./pages/evaluation').then((m) => m.render) },
  PUBLIC_ROUTE,
  { path: 'facilities', nav: 'nav.facilities', load: () => import('./pages/facilities').then((m) => m.render) },
  { path: 'reports', nav: 'nav.reports', load: () => import('./pages/reports').then((m) => m.render) },
  { path: 'notifications', title: 'nav.notifications', load: () => import('./pages/notifications').then((m) => m.render) },
  { path: 'import', nav: 'nav.import', allowed: () => can.import(session.me?.role), load: () => import('./pages/import').then((m) => m.render) },
  { path: 'admin', nav: 'nav.admin', menu: 'nav.menu.admin', allowed: () => can.admin(session.me?.role), load: () => import('./pages/admin').then((m) => m.render) },
  { path: 'audit', nav: 'nav.audit', allowed: () => can.audit(session.me?.role), load: () => import('./pages/audit').then((m) => m.render) },
  { path: 'api', nav: 'nav.api', load: () => import('./pages/apidoc').then((m) => m.render) },
];
