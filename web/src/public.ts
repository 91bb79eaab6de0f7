// Pure helpers of the public page (#/public, no login), unit-tested in test/public.test.ts:
// the URLs of the open data, how a withheld count is written, totals, colour classes of the
// cells and the notes under the tables. Nothing here touches the DOM.

import { API, qs, type PublicCount, type PublicSummary } from './api';
import { fmtInt, tIn, type Lang } from './i18n';
import { rampColors, sequentialBreaks } from './map/colors';

/** The threshold of the server (crates/server/src/public.rs); the summary repeats it. */
export const PUBLIC_THRESHOLD = 5;

export type PublicKind = 'summary' | 'cells';
export type PublicFormat = 'json' | 'csv' | 'geojson';

export interface PublicPeriod {
  from?: string;
  to?: string;
}

/** Path under /api/v1 of a public endpoint of a territory; an empty period part is left out (the server's default). */
export function publicPath(territory: string, kind: PublicKind, period: PublicPeriod = {}, format?: PublicFormat): string {
  return `/public/territories/${encodeURIComponent(territory)}/${kind}${qs({ from: period.from, to: period.to, format: format === 'json' ? undefined : format })}`;
}

/** The full URL (from the site root) of an open-data file, for a plain download link. */
export function publicUrl(territory: string, kind: PublicKind, period: PublicPeriod = {}, format?: PublicFormat): string {
  return API + publicPath(territory, kind, period, format);
}

/** The open-data files of a territory and period: summary CSV, cells GeoJSON, cells CSV, with file names. */
export function downloadLinks(territory: string, period: { from: string; to: string }): { key: 'summaryCsv' | 'cellsGeojson' | 'cellsCsv'; href: string; file: string }[] {
  const stem = `qalqan-open_${territory}_${period.from}_${period.to}`.replace(/[^\p{L}\p{N}._-]+/gu, '-');
  return [
    { key: 'summaryCsv', href: publicUrl(territory, 'summary', period, 'csv'), file: `${stem}_summary.csv` },
    { key: 'cellsGeojson', href: publicUrl(territory, 'cells', period, 'geojson'), file: `${stem}_cells.geojson` },
    { key: 'cellsCsv', href: publicUrl(territory, 'cells', period, 'csv'), file: `${stem}_cells.csv` },
  ];
}

/**
 * The count to show: null when withheld. A count the server sent below the threshold (other
 * than 0) is treated as withheld as well — the page never shows 1…4, whatever it is sent.
 */
export function shownCount(v: PublicCount | undefined, threshold = PUBLIC_THRESHOLD): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  if (v > 0 && v < threshold) return null;
  return v;
}

/** A count as text: the number in the language's format, or the word for "withheld". */
export function fmtCount(v: PublicCount | undefined, l: Lang, threshold = PUBLIC_THRESHOLD): string {
  const n = shownCount(v, threshold);
  return n === null ? tIn(l, 'pub.withheld') : fmtInt(n, l);
}

/** True when every number is 0 or at least the threshold (what the tables may show). */
export function disclosureSafe(values: (number | null)[], threshold = PUBLIC_THRESHOLD): boolean {
  return values.every((v) => v === null || v === 0 || v >= threshold);
}

/**
 * The total of the period: the server withholds a total under the threshold, but when every
 * month is published and they are all zero the total is known to be 0.
 */
export function knownTotal(s: Pick<PublicSummary, 'total' | 'by_month' | 'threshold'>): number | null {
  const t = shownCount(s.total, s.threshold);
  if (t !== null) return t;
  if (s.by_month.length > 0 && s.by_month.every((m) => m.count === 0)) return 0;
  return null;
}

/**
 * What the withheld rows of a group hold together, when the group adds up to the published
 * total (months, categories) and at least one row is withheld; null otherwise. This is worked
 * out from published figures only, and the rule keeps it at or above the threshold.
 */
export function withheldSum(rows: { count: PublicCount }[], total: number | null): number | null {
  if (total === null || !rows.some((r) => r.count === null)) return null;
  const published = rows.reduce((a, r) => a + (r.count ?? 0), 0);
  return total >= published ? total - published : null;
}

/** Rows sorted for a table: published counts descending, then the withheld ones, each by name. */
export function sortRows<T extends { count: PublicCount }>(rows: T[], name: (r: T) => string): T[] {
  return [...rows].sort((a, b) => {
    if (a.count === null || b.count === null) return a.count === null && b.count === null ? name(a).localeCompare(name(b)) : a.count === null ? 1 : -1;
    return b.count - a.count || name(a).localeCompare(name(b));
  });
}

/** Days from `from` to `to` inclusive (ISO dates); 0 when not dates or reversed. */
export function periodDays(from: string, to: string): number {
  const a = Date.parse(`${from}T00:00:00Z`), b = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) return 0;
  return Math.round((b - a) / 86_400_000) + 1;
}

/** The months (YYYY-MM) the period covers only in part: its first when it does not start on the 1st, its last when it does not end on the month's last day. */
export function partialMonths(from: string, to: string): string[] {
  const out: string[] = [];
  const f = /^(\d{4})-(\d{2})-(\d{2})$/.exec(from), t = /^(\d{4})-(\d{2})-(\d{2})$/.exec(to);
  if (!f || !t) return out;
  if (f[3] !== '01') out.push(`${f[1]}-${f[2]}`);
  const lastDay = new Date(Date.UTC(Number(t[1]), Number(t[2]), 0)).getUTCDate();
  if (Number(t[3]) !== lastDay && !out.includes(`${t[1]}-${t[2]}`)) out.push(`${t[1]}-${t[2]}`);
  return out;
}

/** Checks a period typed by the user: both empty (the server's default), or dates with from ≤ to. */
export function periodError(from: string, to: string): 'order' | null {
  if (from && to && from > to) return 'order';
  return null;
}

/** A date (YYYY-MM-DD) as the language writes it: 05.12.2025 (ru, kk), 05/12/2025 (en). */
export function fmtDate(iso: string, l: Lang): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return iso;
  return l === 'en' ? `${m[3]}/${m[2]}/${m[1]}` : `${m[3]}.${m[2]}.${m[1]}`;
}

/** A colour class of the cells: counts from…to (inclusive) get `color`. */
export interface CellClass {
  from: number;
  to: number;
  color: string;
}

/** Colour classes of the published cells' counts (quantiles on the sequential ramp); none when there are no cells. */
export function cellClasses(counts: number[]): CellClass[] {
  const breaks = sequentialBreaks(counts);
  if (breaks.length === 0) return [];
  const colors = rampColors(breaks.length);
  const min = Math.min(...counts.filter((c) => c > 0));
  return breaks.map((b, i) => ({ from: i === 0 ? Math.min(min, b) : Math.floor(breaks[i - 1]) + 1, to: b, color: colors[i] }));
}

/** The colour of a count under the classes (the last class for anything above). */
export function cellColor(count: number, classes: CellClass[]): string {
  for (const c of classes) if (count <= c.to) return c.color;
  return classes.length ? classes[classes.length - 1].color : '#999999';
}

/** A class's label: "5–7", or "12" for a class of one value. */
export function classLabel(c: CellClass, l: Lang): string {
  return c.from === c.to ? fmtInt(c.to, l) : `${fmtInt(c.from, l)}–${fmtInt(c.to, l)}`;
}

/** The note on the cells not on the map. */
export function withheldCellsNote(q: { withheld_cells: number; withheld_incidents: number | null }, l: Lang): string {
  if (q.withheld_cells === 0) return tIn(l, 'pub.withheldNone');
  if (q.withheld_incidents === null) return tIn(l, 'pub.withheldCellsNoSum', { n: fmtInt(q.withheld_cells, l) });
  return tIn(l, 'pub.withheldCells', { n: fmtInt(q.withheld_cells, l), m: fmtInt(q.withheld_incidents, l) });
}
