// The header navigation grouped into a few menus (DOM-free, unit-tested): which links the
// user may see, in which group, and which group holds the current page.

import type { Key } from './i18n';

/** What the navigation needs to know of a route. */
export interface NavRoute {
  path: string;
  /** The link label (and the page title); routes without it are not in the navigation. */
  nav?: Key;
  /** A more specific label inside a group menu (e.g. when the group bears the page's own name). */
  menu?: Key;
  allowed?: () => boolean;
}

export interface NavGroupDef {
  id: string;
  label: Key;
  paths: string[];
}

/** The order of the bar: a group of links, or a route path shown as a direct link. */
export type NavLayoutItem = NavGroupDef | string;

export const NAV_LAYOUT: NavLayoutItem[] = [
  { id: 'analysis', label: 'nav.group.analysis', paths: ['map', 'dashboard', 'near-repeat', 'forecast', 'risk-terrain', 'evaluation', 'public'] },
  'planning',
  { id: 'coordination', label: 'nav.group.coordination', paths: ['coordination', 'facilities', 'reports'] },
  { id: 'admin', label: 'nav.group.admin', paths: ['import', 'admin', 'audit', 'api'] },
];

export interface NavLink {
  path: string;
  label: Key;
  active: boolean;
}

export type NavEntry = { kind: 'link'; link: NavLink } | { kind: 'group'; id: string; label: Key; items: NavLink[]; active: boolean };

function visible(r: NavRoute | undefined): r is NavRoute & { nav: Key } {
  return !!r && !!r.nav && (!r.allowed || r.allowed());
}

/**
 * The entries of the bar for the routes this user may open (`allowed()`), `active` being the
 * current route's path. A group left with a single link is shown as that link (a viewer's
 * "Administration" would hold the API page only); an empty group is left out; a navigation
 * route the layout does not place is added at the end as a direct link.
 */
export function navEntries(routes: NavRoute[], active: string, layout: NavLayoutItem[] = NAV_LAYOUT): NavEntry[] {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const placed = new Set<string>();
  const out: NavEntry[] = [];
  const direct = (r: NavRoute & { nav: Key }): NavEntry => ({ kind: 'link', link: { path: r.path, label: r.nav, active: r.path === active } });
  for (const item of layout) {
    if (typeof item === 'string') {
      placed.add(item);
      const r = byPath.get(item);
      if (visible(r)) out.push(direct(r));
      continue;
    }
    for (const p of item.paths) placed.add(p);
    const rs = item.paths.map((p) => byPath.get(p)).filter(visible);
    if (rs.length === 0) continue;
    if (rs.length === 1) {
      out.push(direct(rs[0]));
      continue;
    }
    const items = rs.map((r) => ({ path: r.path, label: r.menu ?? r.nav, active: r.path === active }));
    out.push({ kind: 'group', id: item.id, label: item.label, items, active: items.some((x) => x.active) });
  }
  for (const r of routes) if (!placed.has(r.path) && visible(r)) out.push(direct(r));
  return out;
}

/** The group holding a path (undefined for a direct link or a route outside the bar). */
export function groupOf(path: string, layout: NavLayoutItem[] = NAV_LAYOUT): string | undefined {
  for (const item of layout) if (typeof item !== 'string' && item.paths.includes(path)) return item.id;
  return undefined;
}

/**
 * The link to focus in an open menu after a key (ArrowDown / ArrowUp wrap around, Home, End);
 * null for any other key. `current` is -1 when no link of the menu has the focus.
 */
export function menuFocusIndex(key: string, current: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case 'ArrowDown':
      return current < 0 ? 0 : (current + 1) % count;
    case 'ArrowUp':
      return current < 0 ? count - 1 : (current - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
