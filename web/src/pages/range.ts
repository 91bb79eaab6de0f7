// Default period of a territory: the twelve months up to its last month with data.

import { enc, getJson, type Stats } from '../api';

const cache = new Map<string, Promise<{ from: string; to: string } | null>>();

export function lastYearRange(lastMonth: string): { from: string; to: string } {
  const [y, m] = lastMonth.split('-').map(Number);
  const end = new Date(Date.UTC(y, m, 0)); // last day of that month
  const start = new Date(Date.UTC(y, m - 12, 1));
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  return { from: iso(start), to: iso(end) };
}

export function defaultRange(territory: string): Promise<{ from: string; to: string } | null> {
  let p = cache.get(territory);
  if (!p) {
    p = getJson<Stats>(`/territories/${enc(territory)}/stats`).then((s) => {
      const months = s.by_month.filter((x) => x.count > 0).map((x) => x.month).sort();
      return months.length ? lastYearRange(months[months.length - 1]) : null;
    });
    p.catch(() => cache.delete(territory));
    cache.set(territory, p);
  }
  return p;
}
