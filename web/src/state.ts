// Session-wide state: the logged-in user, territories, categories.

import { ApiError, enc, getJson, type Me, type Role, type Territory } from './api';
import { CATEGORY_CODES } from './i18n';

export const session: { me: Me | null } = { me: null };

let territoriesCache: Promise<Territory[]> | null = null;
let categoriesCache: Promise<string[]> | null = null;

export function territories(): Promise<Territory[]> {
  if (!territoriesCache) {
    territoriesCache = getJson<Territory[]>('/territories');
    territoriesCache.catch(() => (territoriesCache = null));
  }
  return territoriesCache;
}

export function forgetTerritories(): void {
  territoriesCache = null;
}

/** Category codes from the server; the built-in list while /categories is missing (404). */
export function categories(): Promise<string[]> {
  if (!categoriesCache) {
    categoriesCache = getJson<{ code: string }[]>('/categories')
      .then((list) => list.map((c) => c.code))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return CATEGORY_CODES;
        categoriesCache = null;
        throw e;
      });
  }
  return categoriesCache;
}

export function resetCaches(): void {
  territoriesCache = null;
  categoriesCache = null;
}

export const can = {
  incidents: (r: Role | undefined) => r === 'administrator' || r === 'analyst' || r === 'commander' || r === 'district_inspector',
  import: (r: Role | undefined) => r === 'administrator' || r === 'analyst',
  /** Upload the camera register (the server answers 403 to the other roles). */
  cameraRegister: (r: Role | undefined) => r === 'administrator' || r === 'analyst',
  admin: (r: Role | undefined) => r === 'administrator',
  audit: (r: Role | undefined) => r === 'administrator',
  /** Write bodies, meetings, assignments, the facility register, inspections and the measures table. */
  coordinate: (r: Role | undefined) => r === 'administrator' || r === 'analyst' || r === 'commander',
  /** Record prevention measures (interventions) to evaluate. */
  interventions: (r: Role | undefined) => r === 'administrator' || r === 'analyst' || r === 'commander',
  /** Declare, extend and lift terrorism threat levels. */
  threatLevels: (r: Role | undefined) => r === 'administrator' || r === 'commander',
  /** Produce the council briefing pack (GET …/reports/council; the server answers 403 to the other roles). */
  councilPack: (r: Role | undefined) => r === 'administrator' || r === 'analyst' || r === 'commander',
  /** Mark checklist items of a threat level done (anyone but a viewer). */
  checklist: (r: Role | undefined) => !!r && r !== 'viewer',
};

export function role(): Role | undefined {
  return session.me?.role;
}

/** Filters shared between the map and the dashboard (kept while the page is open). */
export const filters: { territory: string; from: string; to: string; category: string } = {
  territory: '',
  from: '',
  to: '',
  category: '',
};

/** Pick the territory to show first: the one with the most incidents. */
export function defaultTerritory(list: Territory[]): string {
  if (filters.territory && list.some((x) => x.name === filters.territory)) return filters.territory;
  const best = [...list].sort((a, b) => b.incidents - a.incidents)[0];
  return best ? best.name : '';
}

/**
 * The districts of a territory this user may see (sorted), and whether the user
 * sees the territory whole; a user limited to some districts gets 403 for
 * territory-wide figures and should start with one of theirs.
 */
export async function visibleDistricts(territory: string): Promise<{ names: string[]; whole: boolean }> {
  const fc = await getJson<{ features: { properties?: Record<string, unknown> | null }[] }>(`/territories/${enc(territory)}/boundaries`);
  const names = fc.features
    .filter((f) => f.properties?.kind === 'district')
    .map((f) => String(f.properties?.name ?? ''))
    .filter((n) => n)
    .sort((a, b) => a.localeCompare(b));
  const whole = await getJson<unknown>(`/territories/${enc(territory)}/stats`).then(
    () => true,
    (e) => !(e instanceof ApiError && e.status === 403),
  );
  return { names, whole };
}
