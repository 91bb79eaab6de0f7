// Forecast page: labels, sentences, rank classes, district shares, CSV rows and chart series.
// Pure functions of the server's JSON and a language (no DOM), so vitest can load them.

import type { BacktestResult, Forecast, ForecastCellProps, ForecastDistrictShare, ForecastHorizon, ForecastMeta, ForecastMetrics, ForecastModel, SeppFitSummary } from './api';
import { fmtDec, fmtInt, lang, localeOf, numberLocale, tIn, type Key, type Lang } from './i18n';
import { duration } from './knox';

export const MODELS: ForecastModel[] = ['naive', 'rolling-kde', 'prospective', 'sepp'];
export const HORIZONS: ForecastHorizon[] = ['shift', 'day', 'week'];
export const COVERAGES = [0.01, 0.02, 0.05, 0.1];
export const CELL_SIZES = [100, 150, 200, 250, 300, 400, 500];
/** The server's defaults. */
export const FORECAST_DEFAULTS = { model: 'sepp' as ForecastModel, horizon: 'week' as ForecastHorizon, coverage: 0.05, cell: 200 };

export function isModel(m: string): m is ForecastModel {
  return (MODELS as string[]).includes(m);
}

/** The model's name in words ("Self-exciting process (SEPP)"); unknown names as they are. */
export function modelName(m: string, l: Lang = lang()): string {
  return isModel(m) ? tIn(l, `fc.model.${m}` as Key) : m;
}

/** What the model does, in one sentence. */
export function modelAbout(m: string, l: Lang = lang()): string {
  return isModel(m) ? tIn(l, `fc.about.${m}` as Key) : '';
}

export function horizonName(hz: string, l: Lang = lang()): string {
  return (HORIZONS as string[]).includes(hz) ? tIn(l, `fc.horizon.${hz}` as Key) : hz;
}

/** What a cell's score means for the model (SEPP: expected incidents in the window). */
export function scoreLabel(m: string, l: Lang = lang()): string {
  return tIn(l, isModel(m) ? (`fc.score.${m}` as Key) : 'fc.score');
}

// ---- Numbers and dates ----

/** A share as percent in the locale: "5 %", "1,2 %", "33 %" (one decimal below 10 %); "—" for null. */
export function fmtPct(share: number | null | undefined, l: Lang = lang()): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return tIn(l, 'common.none');
  const digits = Math.abs(share) < 0.1 ? 1 : 0;
  return new Intl.NumberFormat(numberLocale(l), { style: 'percent', minimumFractionDigits: 0, maximumFractionDigits: digits }).format(share);
}

/** A ratio such as PAI with one decimal ("6,7"); "—" for null. */
export function fmtRatio(v: number | null | undefined, l: Lang = lang()): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return tIn(l, 'common.none');
  return fmtDec(v, 1, 1, l);
}

/** PEI* (a share of the best possible) with two decimals; "—" for null. */
export function fmtPei(v: number | null | undefined, l: Lang = lang()): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return tIn(l, 'common.none');
  return fmtDec(v, 2, 2, l);
}

/** A difference of two shares in percentage points, signed: "+4,0 п. п.", "−1,5 pts". */
export function fmtPoints(diff: number, l: Lang = lang()): string {
  const v = Math.round(diff * 1000) / 10;
  const s = fmtDec(Math.abs(v), 1, 1, l);
  return tIn(l, 'fc.points', { n: v > 0 ? `+${s}` : v < 0 ? `\u2212${s}` : s });
}

/** A cell score: three significant digits below 100, whole numbers above. */
export function fmtScore(v: number, l: Lang = lang()): string {
  if (!Number.isFinite(v)) return tIn(l, 'common.none');
  if (Math.abs(v) >= 100) return fmtInt(Math.round(v), l);
  return new Intl.NumberFormat(numberLocale(l), { maximumSignificantDigits: 3 }).format(v);
}

/** The parts of a local stamp "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (the territory's wall clock). */
export function parseStamp(s: string | null | undefined): { y: number; m: number; d: number; hh: number; mm: number } | null {
  const x = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?/.exec(s ?? '');
  if (!x) return null;
  return { y: +x[1], m: +x[2], d: +x[3], hh: x[4] ? +x[4] : 0, mm: x[5] ? +x[5] : 0 };
}

let kkMonths: boolean | null = null;

/**
 * Whether dates in language `l` can name the months. Some browsers' ICU data has no Kazakh
 * month names and writes "2022 M01 1": Kazakh dates are then written in numbers (01.01.2022).
 */
export function namesMonths(l: Lang): boolean {
  if (l !== 'kk') return true;
  if (kkMonths === null) kkMonths = !/\d/.test(new Intl.DateTimeFormat('kk-KZ', { month: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(2022, 0, 15))));
  return kkMonths;
}

/** The format of a local stamp: day, month (by name when `named`), year, and the time when `withTime`. */
export function stampFormat(l: Lang, withTime: boolean, named = namesMonths(l), withYear = true): Intl.DateTimeFormat {
  const time = withTime ? ({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } as const) : {};
  const year = withYear ? ({ year: 'numeric' } as const) : {};
  if (named) return new Intl.DateTimeFormat(localeOf(l), { day: 'numeric', month: 'short', ...year, timeZone: 'UTC', ...time });
  return new Intl.DateTimeFormat('ru-RU', { day: '2-digit', month: '2-digit', ...year, timeZone: 'UTC', ...time });
}

/**
 * A local stamp in the locale's date format ("1 янв. 2022 г.", "1 Jan 2022"), with the time
 * when `withTime` (or when it is not midnight). The wall clock is kept as it is: no time zone shift.
 */
export function fmtStamp(s: string | null | undefined, withTime = false, l: Lang = lang()): string {
  const p = parseStamp(s);
  if (!p) return s ? String(s) : tIn(l, 'common.none');
  const time = withTime || p.hh !== 0 || p.mm !== 0;
  return stampFormat(l, time).format(new Date(Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm)));
}

/** A short day for chart axes ("9 окт.", "9 Oct", "09.10"). */
export function fmtShortDay(s: string, l: Lang = lang()): string {
  const p = parseStamp(s);
  if (!p) return s;
  return stampFormat(l, false, namesMonths(l), false).format(new Date(Date.UTC(p.y, p.m - 1, p.d)));
}

/** "1 Jan 2022, 00:00 → 8 Jan 2022, 00:00". */
export function windowText(meta: Pick<ForecastMeta, 'origin' | 'window_end'>, l: Lang = lang()): string {
  return `${fmtStamp(meta.origin, true, l)} → ${fmtStamp(meta.window_end, true, l)}`;
}

/** "неделя, 168 ч" / "week, 168 h" (lower case, for the middle of a sentence). */
export function horizonText(meta: Pick<ForecastMeta, 'horizon' | 'horizon_hours'>, l: Lang = lang()): string {
  return `${horizonName(meta.horizon, l).toLocaleLowerCase(localeOf(l))}, ${tIn(l, 'nr.hours', { n: fmtInt(meta.horizon_hours, l) })}`;
}

// ---- Cells by rank ----

/** Cell colours by rank class: top third darkest. */
export const RANK_COLORS = ['#b10026', '#fc4e2a', '#feb24c'];

/** The rank class of a cell: 0 = top third of the selected cells, 1 = middle, 2 = bottom. */
export function rankClass(rank: number, selected: number): 0 | 1 | 2 {
  const n = Math.max(1, selected);
  if (rank <= Math.ceil(n / 3)) return 0;
  if (rank <= Math.ceil((2 * n) / 3)) return 1;
  return 2;
}

/** The non-empty rank classes of `selected` cells with their first and last rank (for the legend). */
export function rankClasses(selected: number): { cls: 0 | 1 | 2; from: number; to: number; color: string }[] {
  const out: { cls: 0 | 1 | 2; from: number; to: number; color: string }[] = [];
  if (selected <= 0) return out;
  const edges = [0, Math.ceil(selected / 3), Math.ceil((2 * selected) / 3), selected];
  for (let c = 0; c < 3; c++) if (edges[c + 1] > edges[c]) out.push({ cls: c as 0 | 1 | 2, from: edges[c] + 1, to: edges[c + 1], color: RANK_COLORS[c] });
  return out;
}

/** "1–154: top third". */
export function rankLegendLabel(c: { cls: 0 | 1 | 2; from: number; to: number }, l: Lang = lang()): string {
  const range = c.from === c.to ? fmtInt(c.from, l) : `${fmtInt(c.from, l)}–${fmtInt(c.to, l)}`;
  return tIn(l, (['fc.legendTop', 'fc.legendMid', 'fc.legendLow'] as Key[])[c.cls], { ranks: range });
}

/** The lines of a cell's popup: [label, value]. */
export function cellLines(p: ForecastCellProps, meta: Pick<ForecastMeta, 'model' | 'selected_cells'>, l: Lang = lang()): [string, string][] {
  return [
    [tIn(l, 'fc.rank'), tIn(l, 'fc.rankOf', { rank: fmtInt(p.rank, l), n: fmtInt(meta.selected_cells, l) })],
    [scoreLabel(meta.model, l), fmtScore(p.score, l)],
    [tIn(l, 'common.district'), p.district ?? tIn(l, 'fc.noDistrict')],
  ];
}

/** Centre of a cell (the mean of its ring's corners), [lon, lat]. */
export function cellCentre(g: GeoJSON.Polygon | GeoJSON.MultiPolygon | null | undefined): [number, number] | null {
  const ring = !g ? null : g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0]?.[0];
  if (!ring || ring.length === 0) return null;
  const pts = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
  let x = 0, y = 0;
  for (const p of pts) {
    x += p[0];
    y += p[1];
  }
  return [Math.round((x / pts.length) * 1e6) / 1e6, Math.round((y / pts.length) * 1e6) / 1e6];
}

export const CELLS_CSV_HEADER = ['rank', 'cell', 'score', 'district', 'lon', 'lat'];

/** The selected cells by rank. */
export function cellsCsvRows(fc: Pick<Forecast, 'features'>): unknown[][] {
  return [...fc.features]
    .sort((a, b) => a.properties.rank - b.properties.rank)
    .map((f) => {
      const c = cellCentre(f.geometry);
      return [f.properties.rank, f.properties.cell, f.properties.score, f.properties.district ?? '', c?.[0] ?? '', c?.[1] ?? ''];
    });
}

// ---- The model card ----

/** "461 cells of 9 219 (5 % of the area, 18,4 km²)". */
export function areaText(meta: Pick<ForecastMeta, 'selected_cells' | 'area_cells' | 'cell_metres'>, l: Lang = lang()): string {
  const km2 = (meta.selected_cells * meta.cell_metres * meta.cell_metres) / 1e6;
  return tIn(l, 'fc.areaValue', {
    cells: fmtInt(meta.selected_cells, l),
    total: fmtInt(meta.area_cells, l),
    pct: fmtPct(meta.area_cells > 0 ? meta.selected_cells / meta.area_cells : null, l),
    km2: fmtDec(km2, 0, km2 < 10 ? 2 : 1, l),
  });
}

/** A mean delay: hours below two days, days above. */
export function delayText(hours: number, l: Lang = lang()): string {
  if (hours < 48) return duration(Math.round(hours * 10) / 10 / 24, true, l);
  const days = hours / 24;
  return duration(days >= 10 ? Math.round(days) : Math.round(days * 10) / 10, false, l);
}

/** The SEPP fit in plain words. */
export function fitText(fit: SeppFitSummary, l: Lang = lang()): string {
  return tIn(l, 'fc.fitText', {
    theta: fmtDec(fit.theta, 2, 2, l),
    delay: delayText(fit.mean_delay_hours, l),
    sigma: fmtInt(Math.round(fit.sigma_metres), l),
    bg: fmtDec(fit.background_per_day, 0, fit.background_per_day < 10 ? 2 : 1, l),
  });
}

export function fitMetaText(fit: SeppFitSummary, l: Lang = lang()): string {
  const s = tIn(l, 'fc.fitMeta', { events: fmtInt(fit.events, l), iterations: fmtInt(fit.iterations, l) });
  return fit.converged === false ? `${s} ${tIn(l, 'fc.fitNotConverged')}` : s;
}

/** Differences of hit rate below half a point count as "no better". */
const SAME_HIT_RATE = 0.005;

/**
 * The backtest score in words: over which origins and coverage, what this model found, what the
 * naive baseline (the counts of the last period as long as the horizon) would have found, and
 * which is better.
 */
export function backtestSentences(meta: Pick<ForecastMeta, 'model' | 'horizon' | 'backtest'>, l: Lang = lang()): string[] {
  const bt = meta.backtest;
  const m: ForecastMetrics | null = bt?.model ?? null;
  if (!bt || !bt.origins || !m || m.hit_rate === null) return [tIn(l, 'fc.btNone')];
  const out = [
    tIn(l, 'fc.btOrigins', { n: fmtInt(bt.origins, l), first: fmtStamp(bt.first_origin, false, l), last: fmtStamp(bt.last_origin, false, l), pct: fmtPct(bt.coverage, l) }),
    tIn(l, 'fc.btModel', { hit: fmtPct(m.hit_rate, l), pai: fmtRatio(m.pai, l) }),
  ];
  if (meta.model === 'naive') {
    out.push(tIn(l, 'fc.btIsNaive'));
    return out;
  }
  const n = bt.naive;
  if (!n || n.hit_rate === null) return out;
  const hz = (HORIZONS as string[]).includes(meta.horizon) ? meta.horizon : 'week';
  out.push(tIn(l, `fc.btNaive.${hz}` as Key, { hit: fmtPct(n.hit_rate, l), pai: fmtRatio(n.pai, l) }));
  const diff = m.hit_rate - n.hit_rate;
  if (Math.abs(diff) < SAME_HIT_RATE) out.push(tIn(l, 'fc.btSame'));
  else out.push(tIn(l, diff > 0 ? 'fc.btBetter' : 'fc.btWorse', { pts: fmtDec(Math.abs(diff) * 100, 1, 1, l) }));
  return out;
}

/** The backtest as table rows [label, hit rate, PAI, PEI*]: this model, then the baseline. */
export function backtestTableRows(meta: Pick<ForecastMeta, 'model' | 'backtest'>, l: Lang = lang()): string[][] {
  const bt = meta.backtest;
  if (!bt || !bt.model) return [];
  const row = (label: string, x: ForecastMetrics) => [label, fmtPct(x.hit_rate, l), fmtRatio(x.pai, l), fmtPei(x.pei_star, l)];
  const out = [row(tIn(l, 'fc.thisModel'), bt.model)];
  if (meta.model !== 'naive' && bt.naive) out.push(row(tIn(l, 'fc.baseline'), bt.naive));
  return out;
}

// ---- Fairness check: forecast area vs incidents per district ----

/** A district is flagged when its forecast share is at least this many times its incident share… */
export const FLAG_RATIO = 2;
/** …and at least this much above it (2 percentage points). */
export const FLAG_MIN_DIFF = 0.02;

export function isFlagged(forecastShare: number, incidentShare: number): boolean {
  return forecastShare - incidentShare >= FLAG_MIN_DIFF - 1e-12 && forecastShare >= FLAG_RATIO * incidentShare;
}

export interface DistrictRow {
  /** `district`: a named district; `none`: cells outside districts; `rest`: the districts after the top ones, together. */
  kind: 'district' | 'none' | 'rest';
  name: string | null;
  /** For `rest`: how many districts. */
  districts: number;
  forecastShare: number;
  incidentShare: number;
  forecastCells: number;
  incidents: number;
  flagged: boolean;
}

function byForecastShare(a: ForecastDistrictShare, b: ForecastDistrictShare): number {
  return b.forecast_area_share - a.forecast_area_share || b.incident_share - a.incident_share || (a.district ?? '\uffff').localeCompare(b.district ?? '\uffff');
}

/** All districts, the largest share of the forecast area first. */
export function sortDistricts(ds: ForecastDistrictShare[]): ForecastDistrictShare[] {
  return [...ds].sort(byForecastShare);
}

/**
 * The top `top` districts by forecast share, then the other districts together in one "rest"
 * row (last). The cells outside districts keep their own row, in order of their share.
 */
export function districtRows(ds: ForecastDistrictShare[], top = 15): DistrictRow[] {
  const sorted = sortDistricts(ds);
  const row = (d: ForecastDistrictShare): DistrictRow => ({
    kind: d.district === null ? 'none' : 'district',
    name: d.district,
    districts: 1,
    forecastShare: d.forecast_area_share,
    incidentShare: d.incident_share,
    forecastCells: d.forecast_cells,
    incidents: d.incidents,
    flagged: d.district !== null && isFlagged(d.forecast_area_share, d.incident_share),
  });
  const named = sorted.filter((d) => d.district !== null);
  // A rest of one district is shown as itself.
  if (named.length <= top + 1) return sorted.map(row);
  const shown = new Set(named.slice(0, top));
  const rest = named.slice(top);
  return [
    ...sorted.filter((d) => d.district === null || shown.has(d)).map(row),
    {
      kind: 'rest',
      name: null,
      districts: rest.length,
      forecastShare: rest.reduce((a, d) => a + d.forecast_area_share, 0),
      incidentShare: rest.reduce((a, d) => a + d.incident_share, 0),
      forecastCells: rest.reduce((a, d) => a + d.forecast_cells, 0),
      incidents: rest.reduce((a, d) => a + d.incidents, 0),
      flagged: false,
    },
  ];
}

export function districtLabel(r: Pick<DistrictRow, 'kind' | 'name' | 'districts'>, l: Lang = lang()): string {
  if (r.kind === 'rest') return tIn(l, 'fc.rest', { n: fmtInt(r.districts, l) });
  return r.name ?? tIn(l, 'fc.noDistrict');
}

/** The flagged districts' names, largest forecast share first. */
export function flaggedDistricts(ds: ForecastDistrictShare[]): string[] {
  return sortDistricts(ds)
    .filter((d) => d.district !== null && isFlagged(d.forecast_area_share, d.incident_share))
    .map((d) => d.district as string);
}

export const DISTRICTS_CSV_HEADER = ['district', 'forecast_area_share', 'incident_share', 'difference', 'forecast_cells', 'incidents', 'flagged'];

/** Every district (not only the top ones), largest forecast share first; no district = empty name. */
export function districtCsvRows(ds: ForecastDistrictShare[]): unknown[][] {
  return sortDistricts(ds).map((d) => [
    d.district ?? '',
    d.forecast_area_share,
    d.incident_share,
    Math.round((d.forecast_area_share - d.incident_share) * 1e6) / 1e6,
    d.forecast_cells,
    d.incidents,
    d.district !== null && isFlagged(d.forecast_area_share, d.incident_share) ? 1 : 0,
  ]);
}

// ---- Backtest ----

/** The coverages of a backtest (those of its first model; the server's 1 %, 5 %, 10 % otherwise). */
export function btCoverages(bt: Pick<BacktestResult, 'models'>): number[] {
  const c = bt.models[0]?.coverages?.map((x) => x.coverage);
  return c && c.length ? c : [0.01, 0.05, 0.1];
}

/** Index of the coverage closest to `target` (5 %). */
export function coverageIndex(coverages: number[], target = 0.05): number {
  let best = 0;
  coverages.forEach((c, i) => {
    if (Math.abs(c - target) < Math.abs(coverages[best] - target)) best = i;
  });
  return best;
}

/** "1", "5", "10", "0.5": a coverage as a percent for CSV column names. */
export function coverageSlug(c: number): string {
  return String(Math.round(c * 100 * 1000) / 1000);
}

export function btCsvHeader(bt: Pick<BacktestResult, 'models'>): string[] {
  const cs = btCoverages(bt).map(coverageSlug);
  return ['origin', 'model', 'test_events', ...cs.map((c) => `hit_rate_${c}pct`), ...cs.map((c) => `pai_${c}pct`), ...cs.map((c) => `pei_star_${c}pct`)];
}

/** One line per origin and model, as the server sends them (null = empty). */
export function btCsvRows(bt: Pick<BacktestResult, 'models' | 'rows'>): unknown[][] {
  const n = btCoverages(bt).length;
  const pad = (xs: (number | null)[] | undefined) => Array.from({ length: n }, (_, i) => xs?.[i] ?? null);
  return [...bt.rows]
    .sort((a, b) => a.origin.localeCompare(b.origin) || modelOrder(a.model) - modelOrder(b.model))
    .map((r) => [r.origin, r.model, r.test_events, ...pad(r.hit_rate), ...pad(r.pai), ...pad(r.pei_star)]);
}

function modelOrder(m: string): number {
  const i = (MODELS as string[]).indexOf(m);
  return i < 0 ? MODELS.length : i;
}

/** Line style per model: colour, dash and marker differ, so the chart reads without colour. */
export const MODEL_STYLE: Record<ForecastModel, { color: string; dash: number[]; marker: 'circle' | 'square' | 'triangle' | 'diamond' }> = {
  naive: { color: '#6f6f6f', dash: [6, 4], marker: 'square' },
  'rolling-kde': { color: '#228833', dash: [2, 3], marker: 'triangle' },
  prospective: { color: '#ee7733', dash: [10, 4, 2, 4], marker: 'diamond' },
  sepp: { color: '#1f3a5f', dash: [], marker: 'circle' },
};
const EXTRA_COLORS = ['#aa3377', '#66ccee', '#ccbb44'];

export function modelStyle(m: string, i = 0): { color: string; dash: number[]; marker: 'circle' | 'square' | 'triangle' | 'diamond' } {
  return isModel(m) ? MODEL_STYLE[m] : { color: EXTRA_COLORS[i % EXTRA_COLORS.length], dash: [1, 2], marker: 'circle' };
}

/** The origins (sorted) and, per model, its value at coverage `ci` for each origin (null when missing). */
export function btSeries(bt: Pick<BacktestResult, 'models' | 'rows'>, ci: number, metric: 'hit_rate' | 'pai' | 'pei_star' = 'hit_rate'): { origins: string[]; series: { model: string; values: (number | null)[] }[] } {
  const origins = [...new Set(bt.rows.map((r) => r.origin))].sort();
  const models = bt.models.map((m) => m.model);
  for (const r of bt.rows) if (!models.includes(r.model)) models.push(r.model);
  const at = new Map<string, number | null>();
  for (const r of bt.rows) at.set(`${r.model}\u0000${r.origin}`, r[metric]?.[ci] ?? null);
  return { origins, series: models.map((model) => ({ model, values: origins.map((o) => at.get(`${model}\u0000${o}`) ?? null) })) };
}

/** Index of the largest value (the best model in a column), −1 when none. */
export function bestIndex(values: (number | null | undefined)[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (v !== null && v !== undefined && Number.isFinite(v) && (best < 0 || v > (values[best] as number))) best = i;
  });
  return best;
}
