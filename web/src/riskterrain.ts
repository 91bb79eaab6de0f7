// Risk terrain (GET …/risk-terrain): factor names, influences, the fit in words, the map's risk
// classes and the CSV of the factor table. Pure functions of the server's JSON and a language
// (no DOM), so vitest can load them.

import type { RiskFactor, RiskTerrain } from './api';
import { rampColors, sequentialBreaks } from './map/colors';
import { fmtDec, fmtInt, hasKey, lang, localeOf, numberLocale, tIn, type Key, type Lang } from './i18n';

/** Categories of places of interest from the OpenStreetMap import that the server offers as factors. */
export const OSM_FACTORS = [
  'bar',
  'pub',
  'nightclub',
  'fast_food',
  'gambling',
  'shop',
  'school',
  'college',
  'transit_stop',
  'station',
  'station_entrance',
  'parking',
  'bicycle_parking',
  'atm',
  'bank',
  'pharmacy',
  'fuel',
  'police',
  'hospital',
] as const;

/** Factors from the territory's registers (facilities are `facility_<category>`). */
export const REGISTER_FACTORS = ['camera', 'stationary', 'mobile'] as const;

export const RT_DEFAULTS = { cell: 100, family: 'negative_binomial' as 'negative_binomial' | 'poisson', seed: 1 };

/**
 * A factor's name in the language: the known OpenStreetMap categories and registers translated,
 * `facility_<category>` as the facility category with "(facility register)", others as they are.
 */
export function factorName(code: string, l: Lang = lang()): string {
  const k = `rtf.${code}`;
  if (hasKey(k)) return tIn(l, k as Key);
  const m = /^facility_(.+)$/.exec(code);
  if (m && hasKey(`fcat.${m[1]}`)) return tIn(l, 'rt.facilityFactor', { name: tIn(l, `fcat.${m[1]}` as Key) });
  return code;
}

/** "в радиусе 100 м" or "высокая плотность в радиусе 200 м". */
export function influenceText(f: Pick<RiskFactor, 'operationalisation' | 'bandwidth_m'>, l: Lang = lang()): string {
  const m = fmtInt(f.bandwidth_m, l);
  return tIn(l, f.operationalisation === 'density' ? 'rt.influence.density' : 'rt.influence.proximity', { m });
}

/** The longer explanation of an influence (the table's tooltip). */
export function influenceHelp(f: Pick<RiskFactor, 'operationalisation' | 'bandwidth_m'>, l: Lang = lang()): string {
  const m = fmtInt(f.bandwidth_m, l);
  return tIn(l, f.operationalisation === 'density' ? 'rt.influenceHelp.density' : 'rt.influenceHelp.proximity', { m });
}

/** A relative risk value: two decimals ("1,92"). */
export function fmtRr(v: number | null | undefined, l: Lang = lang()): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return tIn(l, 'common.none');
  return fmtDec(v, 2, 2, l);
}

/** A composite risk (a product of values): two decimals below 10, one below 100, none above. */
export function fmtRisk(v: number | null | undefined, l: Lang = lang()): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return tIn(l, 'common.none');
  const a = Math.abs(v);
  return a < 10 ? fmtDec(v, 2, 2, l) : a < 100 ? fmtDec(v, 1, 1, l) : fmtInt(Math.round(v), l);
}

/** "1,62–2,28". */
export function intervalText(low: number, high: number, l: Lang = lang()): string {
  return `${fmtRr(low, l)}–${fmtRr(high, l)}`;
}

/** A p-value: three decimals, "< 0,001" below. */
export function pValueText(p: number | null | undefined, l: Lang = lang()): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return tIn(l, 'common.none');
  if (p < 0.001) return `< ${fmtDec(0.001, 3, 3, l)}`;
  return fmtDec(p, 3, 3, l);
}

/** A share as a whole percent in the locale ("62 %"). */
export function pctText(share: number, l: Lang = lang()): string {
  return new Intl.NumberFormat(numberLocale(l), { style: 'percent', maximumFractionDigits: 0 }).format(share);
}

/** "в 4,3 раза" / "в 12 раз" / "4,3 есе" / "4.3 times": one decimal below 10, whole above. */
export function timesText(x: number, l: Lang = lang()): string {
  const whole = x >= 10;
  const v = whole ? fmtInt(Math.round(x), l) : fmtDec(x, 1, 1, l);
  let form: 'few' | 'many' = 'few';
  if (l === 'ru' && whole) {
    const n = Math.round(x);
    const d = n % 10, h = n % 100;
    form = d >= 2 && d <= 4 && (h < 12 || h > 14) ? 'few' : 'many';
  }
  return tIn(l, form === 'few' ? 'rt.times.few' : 'rt.times.many', { x: v });
}

/** The largest composite risk on the map (the riskiest cells), or the product of the risk-raising factors without a map. */
export function maxRisk(rt: Pick<RiskTerrain, 'factors' | 'map'>): number {
  let m = 0;
  for (const f of rt.map?.features ?? []) {
    const r = Number(f.properties?.risk);
    if (Number.isFinite(r) && r > m) m = r;
  }
  if (m > 0) return m;
  return rt.factors.reduce((a, f) => a * Math.max(1, f.relative_risk), 1);
}

/** The factors tested but not kept by the model (no measurable influence). */
export function notKept(rt: Pick<RiskTerrain, 'factors' | 'factors_tested'>): string[] {
  const kept = new Set(rt.factors.map((f) => f.factor));
  return rt.factors_tested.map((f) => f.factor).filter((f) => !kept.has(f));
}

/** Why the table is empty, or null when it has factors. */
export function emptyReason(rt: Pick<RiskTerrain, 'factors' | 'factors_tested' | 'factors_skipped'>, l: Lang = lang()): string | null {
  if (rt.factors.length > 0) return null;
  if (rt.factors_tested.length === 0) {
    return rt.factors_skipped.length > 0 ? tIn(l, 'rt.noneEnough', { min: fmtInt(3, l) }) : tIn(l, 'rt.noConditions');
  }
  return tIn(l, 'rt.noFactors', { n: fmtInt(rt.factors_tested.length, l) });
}

/** The fit in plain words: what it explains, how much riskier the riskiest cells are, the strongest and the protective conditions. */
export function fitSentences(rt: RiskTerrain, l: Lang = lang()): string[] {
  const out: string[] = [];
  if (rt.factors.length > 0) {
    out.push(tIn(l, 'rt.fit.deviance', { pct: pctText(Math.max(0, rt.deviance_explained), l) }));
    const top = maxRisk(rt);
    if (top > 1.0001) out.push(tIn(l, 'rt.fit.riskiest', { times: timesText(top, l) }));
    const up = rt.factors.filter((f) => f.relative_risk > 1);
    if (up.length) {
      const s = up[0];
      out.push(tIn(l, 'rt.fit.strongest', { factor: factorName(s.factor, l), influence: influenceText(s, l), times: timesText(s.relative_risk, l) }));
    }
    const down = rt.factors.filter((f) => f.relative_risk < 1);
    if (down.length) out.push(tIn(l, 'rt.fit.protective', { list: down.map((f) => `${factorName(f.factor, l)} (${influenceText(f, l)})`).join(', ') }));
  }
  out.push(tIn(l, 'rt.fit.baseline', { n: fmtDec(rt.baseline, 0, rt.baseline < 1 ? 3 : 2, l) }));
  return out;
}

/** The model's details in one line each (family, cross-validation, counts). */
export function modelLines(rt: RiskTerrain, l: Lang = lang()): string[] {
  const out: string[] = [];
  out.push(
    rt.family === 'poisson'
      ? tIn(l, 'rt.model.poisson')
      : tIn(l, 'rt.model.nb', { theta: rt.theta === null || rt.theta === undefined ? tIn(l, 'common.none') : fmtDec(rt.theta, 0, 2, l) }),
  );
  out.push(
    tIn(l, 'rt.model.data', {
      cells: fmtInt(rt.cells, l),
      cell: fmtInt(rt.cell_m, l),
      n: fmtInt(rt.incidents, l),
    }),
  );
  if (rt.incidents_outside > 0) out.push(tIn(l, 'rt.model.outside', { n: fmtInt(rt.incidents_outside, l) }));
  out.push(
    tIn(l, 'rt.model.tested', {
      n: fmtInt(rt.factors_tested.length, l),
      v: fmtInt(rt.variables, l),
      k: fmtInt(rt.factors.length, l),
    }),
  );
  out.push(tIn(l, 'rt.model.cv', { cv: fmtDec(rt.cv_deviance_per_cell, 0, 3, l), pct: pctText(Math.max(0, rt.deviance_explained), l) }));
  return out;
}

/** "Бары (22), Пабы (51)": factors with their numbers of features. */
export function featureList(list: { factor: string; features: number }[], l: Lang = lang()): string {
  const coll = new Intl.Collator(localeOf(l));
  return [...list]
    .map((f) => ({ name: factorName(f.factor, l), n: f.features }))
    .sort((a, b) => coll.compare(a.name, b.name))
    .map((f) => `${f.name} (${fmtInt(f.n, l)})`)
    .join(', ');
}

/**
 * The factors to ask for, sorted: none (all of the territory's) when every known one is ticked
 * and nothing is typed; else the ticked ones and the typed ones.
 */
export function chosenFactors(known: string[], checked: string[], extra: string): string[] {
  const more = extra
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter((s) => s);
  const set = new Set(checked);
  if (more.length === 0 && known.length > 0 && known.every((k) => set.has(k))) return [];
  return [...new Set([...checked, ...more])].sort();
}

// ---- Map ----

/** Cells of the composite risk map by class: below 1 (fewer incidents), 1 (no condition), and classes above 1. */
export const LOWER_COLOR = '#6baed6';
export const NONE_COLOR = '#d3d8df';

export interface RiskClasses {
  /** Upper bounds of the classes above 1, increasing. */
  breaks: number[];
  colors: string[];
}

/** Up to five quantile classes of the risks above 1. */
export function riskClasses(values: ArrayLike<number>, k = 5): RiskClasses {
  const above: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v) && v > 1.0001) above.push(v);
  }
  const breaks = sequentialBreaks(above, k);
  return { breaks, colors: rampColors(breaks.length) };
}

/** The colour of a cell's risk. */
export function riskColor(v: number, c: RiskClasses): string {
  if (!Number.isFinite(v) || Math.abs(v - 1) <= 1e-4) return NONE_COLOR;
  if (v < 1) return LOWER_COLOR;
  for (let i = 0; i < c.breaks.length; i++) if (v <= c.breaks[i] + 1e-9) return c.colors[i];
  return c.colors[c.colors.length - 1] ?? NONE_COLOR;
}

/** The legend's rows: colour and label ("1,00–1,73", "> 1,73 … 12,6"). */
export function riskLegend(c: RiskClasses, hasLower: boolean, l: Lang = lang()): { color: string; label: string }[] {
  const rows: { color: string; label: string }[] = [];
  let prev = 1;
  c.breaks.forEach((b, i) => {
    rows.push({ color: c.colors[i], label: `${fmtRisk(prev, l)}–${fmtRisk(b, l)}` });
    prev = b;
  });
  rows.reverse();
  rows.push({ color: NONE_COLOR, label: tIn(l, 'rt.legend.none') });
  if (hasLower) rows.push({ color: LOWER_COLOR, label: tIn(l, 'rt.legend.lower') });
  return rows;
}

// ---- CSV ----

export const FACTORS_CSV_HEADER = ['factor', 'name', 'operationalisation', 'bandwidth_m', 'relative_risk', 'low', 'high', 'p_value', 'coefficient', 'cells'];

export function factorsCsvRows(rt: Pick<RiskTerrain, 'factors'>, l: Lang = lang()): unknown[][] {
  return rt.factors.map((f) => [f.factor, factorName(f.factor, l), f.operationalisation, f.bandwidth_m, f.relative_risk, f.low, f.high, f.p_value, f.coefficient, f.cells]);
}

// ---- Forest plot scale ----

/** A log scale covering the intervals and 1: [min, max] and the ticks to label. */
export function forestScale(rows: { low: number; high: number }[]): { min: number; max: number; ticks: number[] } {
  let lo = 1, hi = 1;
  for (const r of rows) {
    if (Number.isFinite(r.low) && r.low > 0) lo = Math.min(lo, r.low);
    if (Number.isFinite(r.high) && r.high > 0) hi = Math.max(hi, r.high);
  }
  const candidates = [0.1, 0.2, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128];
  let min = candidates.filter((c) => c <= lo * 0.999).pop() ?? lo / 2;
  let max = candidates.find((c) => c >= hi * 1.001) ?? hi * 2;
  if (min === 1) min = 0.5;
  if (max === 1) max = 2;
  const ticks = candidates.filter((c) => c >= min && c <= max && c !== 0.2 && c !== 0.25);
  return { min, max, ticks };
}
