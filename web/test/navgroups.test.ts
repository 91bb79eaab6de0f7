import { describe, expect, it } from 'vitest';
import { DICTS, type Key } from '../src/i18n';
import { NAV_LAYOUT, groupOf, menuFocusIndex, navEntries, type NavEntry, type NavRoute } from '../src/navgroups';
import { ROUTES } from '../src/routes';
import { session } from '../src/state';

type Role = 'administrator' | 'analyst' | 'viewer';

/** The navigation routes of main.ts, with its role checks. */
function routes(role: Role): NavRoute[] {
  return [
    { path: 'map', nav: 'nav.map' },
    { path: 'dashboard', nav: 'nav.dashboard' },
    { path: 'near-repeat', nav: 'nav.nearRepeat' },
    { path: 'forecast', nav: 'nav.forecast' },
    { path: 'risk-terrain', nav: 'nav.riskTerrain' },
    { path: 'planning', nav: 'nav.planning' },
    { path: 'coordination', nav: 'nav.coordination', menu: 'nav.menu.coordination' },
    { path: 'evaluation', nav: 'nav.evaluation' },
    { path: 'public', nav: 'nav.public' },
    { path: 'facilities', nav: 'nav.facilities' },
    { path: 'reports', nav: 'nav.reports' },
    { path: 'notifications' },
    { path: 'import', nav: 'nav.import', allowed: () => role === 'administrator' || role === 'analyst' },
    { path: 'admin', nav: 'nav.admin', menu: 'nav.menu.admin', allowed: () => role === 'administrator' },
    { path: 'audit', nav: 'nav.audit', allowed: () => role === 'administrator' },
    { path: 'api', nav: 'nav.api' },
  ];
}

/** A compact picture of the bar: "path" for a link, "group[path,…]" for a menu; * marks the active. */
function shape(entries: NavEntry[]): string[] {
  return entries.map((e) =>
    e.kind === 'link' ? `${e.link.path}${e.link.active ? '*' : ''}` : `${e.id}${e.active ? '*' : ''}[${e.items.map((x) => `${x.path}${x.active ? '*' : ''}`).join(',')}]`,
  );
}

describe('navigation groups', () => {
  it('groups the administrator bar into analysis, planning, coordination and administration', () => {
    expect(shape(navEntries(routes('administrator'), 'forecast'))).toEqual([
      'analysis*[map,dashboard,near-repeat,forecast*,risk-terrain,evaluation,public]',
      'planning',
      'coordination[coordination,facilities,reports]',
      'admin[import,admin,audit,api]',
    ]);
  });

  it('keeps the role checks: an analyst has import and API, no admin or audit', () => {
    expect(shape(navEntries(routes('analyst'), 'reports'))).toEqual([
      'analysis[map,dashboard,near-repeat,forecast,risk-terrain,evaluation,public]',
      'planning',
      'coordination*[coordination,facilities,reports*]',
      'admin[import,api]',
    ]);
  });

  it('shows a group left with one link as that link (a viewer: API only)', () => {
    const e = navEntries(routes('viewer'), 'api');
    expect(shape(e)).toEqual(['analysis[map,dashboard,near-repeat,forecast,risk-terrain,evaluation,public]', 'planning', 'coordination[coordination,facilities,reports]', 'api*']);
    const api = e[3];
    expect(api.kind === 'link' && api.link.label).toBe('nav.api');
  });

  it('marks no group for a page outside the bar, and a direct link when it is current', () => {
    expect(navEntries(routes('analyst'), 'notifications').some((e) => (e.kind === 'group' ? e.active : e.link.active))).toBe(false);
    const e = navEntries(routes('analyst'), 'planning');
    expect(e[1]).toEqual({ kind: 'link', link: { path: 'planning', label: 'nav.planning', active: true } });
  });

  it('uses the menu label inside a group, the page label outside', () => {
    const coord = navEntries(routes('administrator'), 'map').find((e) => e.kind === 'group' && e.id === 'coordination');
    expect(coord?.kind === 'group' && coord.items.map((x) => x.label)).toEqual(['nav.menu.coordination', 'nav.facilities', 'nav.reports']);
    const alone = navEntries([{ path: 'admin', nav: 'nav.admin', menu: 'nav.menu.admin' }], 'map');
    expect(alone).toEqual([{ kind: 'link', link: { path: 'admin', label: 'nav.admin', active: false } }]);
  });

  it('drops empty groups and appends routes the layout does not place', () => {
    const e = navEntries([{ path: 'planning', nav: 'nav.planning' }, { path: 'elsewhere', nav: 'nav.api' }, { path: 'audit', nav: 'nav.audit', allowed: () => false }], 'elsewhere');
    expect(shape(e)).toEqual(['planning', 'elsewhere*']);
  });

  it('places every navigation route of the application exactly once, and the group labels exist in every language', () => {
    const paths = NAV_LAYOUT.flatMap((x) => (typeof x === 'string' ? [x] : x.paths));
    expect(new Set(paths).size).toBe(paths.length);
    expect([...paths].sort()).toEqual(ROUTES.filter((r) => r.nav).map((r) => r.path).sort());
    expect([...paths].sort()).toEqual(routes('administrator').filter((r) => r.nav).map((r) => r.path).sort());
    for (const x of NAV_LAYOUT) {
      if (typeof x === 'string') continue;
      for (const l of Object.values(DICTS)) expect(l[x.label as Key], x.label).toBeTruthy();
    }
    expect(groupOf('reports')).toBe('coordination');
    expect(groupOf('planning')).toBeUndefined();
    expect(groupOf('nowhere')).toBeUndefined();
  });

  it('gives the real routes their role checks', () => {
    const seen = () => navEntries(ROUTES, 'map').flatMap((e) => (e.kind === 'link' ? [e.link.path] : e.items.map((x) => x.path)));
    const me = { login: 'x', display_name: 'x', agency: null, must_change_password: false, csrf_token: '' };
    try {
      for (const role of ['administrator', 'analyst', 'viewer'] as Role[]) {
        session.me = { ...me, role };
        const want = routes(role).filter((r) => r.nav && (!r.allowed || r.allowed())).map((r) => r.path).sort();
        expect(seen().sort(), role).toEqual(want);
      }
    } finally {
      session.me = null;
    }
  });

  it('moves the focus within an open menu', () => {
    expect(menuFocusIndex('ArrowDown', -1, 4)).toBe(0);
    expect(menuFocusIndex('ArrowDown', 3, 4)).toBe(0);
    expect(menuFocusIndex('ArrowUp', -1, 4)).toBe(3);
    expect(menuFocusIndex('ArrowUp', 0, 4)).toBe(3);
    expect(menuFocusIndex('ArrowUp', 2, 4)).toBe(1);
    expect(menuFocusIndex('Home', 2, 4)).toBe(0);
    expect(menuFocusIndex('End', 0, 4)).toBe(3);
    expect(menuFocusIndex('Tab', 1, 4)).toBeNull();
    expect(menuFocusIndex('ArrowDown', -1, 0)).toBeNull();
  });
});
