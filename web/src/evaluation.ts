// "Did it work?" (GET …/interventions/{id}/evaluation): verdicts, the WDQ and the counts in words
// in the three languages (the server's sentences are English), the series for the chart, the
// rings for the map and the form's checks. Pure functions (no DOM), so vitest can load them.

import type { DidEstimate, DisplacementCode, Evaluation, InterventionKind, VerdictCode, WdqResult } from './api';
import { addDays, fmtDate, isIsoDate } from './coordination';
import { namesMonths } from './forecast';
import { fmtDec, fmtInt, hasKey, lang, localeOf, numberLocale, tIn, type Key, type Lang } from './i18n';

export const KINDS: InterventionKind[] = ['camera_cluster', 'post', 'mobile_point', 'patrol_plan', 'lighting', 'other'];

export const EVAL_DEFAULTS = { before_days: 365, after_days: 180, buffer: 400, control_radius: 2000, period: 'week' as 'week' | 'month' };

export const DISPLACEMENTS: DisplacementCode[] = ['no_success', 'diffusion_exceeds_direct', 'diffusion', 'none', 'displacement_less_than_gain', 'displacement_exceeds_gain', 'not_estimable'];

export function kindLabel(k: string | null | undefined, l: Lang = lang()): string {
  if (!k) return tIn(l, 'common.none');
  const key = `ik.${k}`;
  return hasKey(key) ? tIn(l, key as Key) : k;
}

/** Minus as U+2212 (the locales write a hyphen). */
function minus(s: string): string {
  return s.replace(/-/g, '\u2212');
}

/** A change of a ratio as a signed percent: 0.62 → "−38 %", 1.07 → "+7 %". */
export function changeText(ratio: number, l: Lang = lang()): string {
  if (!Number.isFinite(ratio)) return tIn(l, 'common.none');
  const v = ratio - 1;
  const digits = Math.abs(v) < 0.01 && v !== 0 ? 1 : 0;
  return minus(new Intl.NumberFormat(numberLocale(l), { style: 'percent', signDisplay: 'exceptZero', maximumFractionDigits: digits }).format(v));
}

/** The size of a change without its sign: 0.62 → "38 %". */
export function changeSize(ratio: number, l: Lang = lang()): string {
  const v = Math.abs(ratio - 1);
  const digits = v < 0.01 && v !== 0 ? 1 : 0;
  return new Intl.NumberFormat(numberLocale(l), { style: 'percent', maximumFractionDigits: digits }).format(v);
}

/** "95 %". */
export function confidenceText(c: number, l: Lang = lang()): string {
  return new Intl.NumberFormat(numberLocale(l), { style: 'percent', maximumFractionDigits: 1 }).format(c);
}

/** "p = 0,012" or "p < 0,001". */
export function pPhrase(p: number | undefined, l: Lang = lang()): string {
  if (p === undefined || !Number.isFinite(p)) return `p = ${tIn(l, 'common.none')}`;
  if (p < 0.001) return `p < ${fmtDec(0.001, 3, 3, l)}`;
  return `p = ${fmtDec(p, 3, 3, l)}`;
}

/** "95 % интервал: от −52 % до −20 %". */
export function intervalPhrase(e: Pick<DidEstimate, 'low' | 'high'>, confidence: number, l: Lang = lang()): string {
  return tIn(l, 'ev.ci', { conf: confidenceText(confidence, l), low: changeText(e.low ?? NaN, l), high: changeText(e.high ?? NaN, l) });
}

export type AreaKey = 'target' | 'buffer';

/** The verdict on an area in the language, from the numbers and the verdict code. */
export function verdictSentence(e: DidEstimate, area: AreaKey, confidence: number, l: Lang = lang()): string {
  const where = tIn(l, area === 'target' ? 'ev.in.target' : 'ev.in.buffer');
  if (e.verdict === 'not_estimable' || e.rate_ratio === undefined) return tIn(l, 'ev.v.not_estimable', { area: where });
  const vars = { area: where, pct: changeSize(e.rate_ratio, l), change: changeText(e.rate_ratio, l), ci: intervalPhrase(e, confidence, l), p: pPhrase(e.p_value, l) };
  if (e.verdict === 'reduction') return tIn(l, 'ev.v.reduction', vars);
  if (e.verdict === 'increase') return tIn(l, 'ev.v.increase', vars);
  return tIn(l, 'ev.v.no_evidence', vars);
}

/** The verdict's short title ("Снижение: мера, по-видимому, сработала"). */
export function verdictTitle(v: VerdictCode | string, l: Lang = lang()): string {
  const key = `ev.vt.${v}`;
  return hasKey(key) ? tIn(l, key as Key) : v;
}

/** What a displacement code means, in plain words. */
export function displacementText(code: DisplacementCode | string, l: Lang = lang()): string {
  const key = `ev.d.${code}`;
  return hasKey(key) ? tIn(l, key as Key) : code;
}

/** The WDQ in words: its value, the net effect and what the buffer did. */
export function wdqSentences(w: WdqResult, l: Lang = lang()): string[] {
  const out = [displacementText(w.displacement, l)];
  if (w.displacement === 'not_estimable') return out;
  const net = w.total_net_effect;
  if (net !== undefined && Number.isFinite(net)) {
    const n = fmtDec(Math.abs(net), 1, 1, l);
    out.push(Math.abs(net) < 0.05 ? tIn(l, 'ev.net.zero') : tIn(l, net > 0 ? 'ev.net.fewer' : 'ev.net.more', { n }));
  }
  return out;
}

/** A signed decimal with a true minus ("−0,012"). */
export function signedDec(v: number | null | undefined, digits: number, l: Lang = lang()): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return tIn(l, 'common.none');
  return minus(new Intl.NumberFormat(numberLocale(l), { minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(v));
}

// ---- Windows and counts ----

/** The day before an exclusive end ("after_to" is the first day not counted). */
export function lastDay(exclusiveEnd: string): string {
  return isIsoDate(exclusiveEnd) ? addDays(exclusiveEnd, -1) : exclusiveEnd;
}

/** "1 июн. 2019 г. – 27 нояб. 2019 г.". */
export function rangeText(from: string, to: string, l: Lang = lang()): string {
  return `${fmtDate(from, l)} – ${fmtDate(to, l)}`;
}

/** The equal windows the WDQ and the counts compare: before (just before the start) and after. */
export function countWindows(ev: Pick<Evaluation, 'intervention' | 'window'>): { before: [string, string]; after: [string, string] } {
  const start = ev.intervention.starts_on;
  return { before: [ev.window.wdq_before_from, addDays(start, -1)], after: [start, lastDay(ev.window.after_to)] };
}

export interface CountRow {
  area: 'target' | 'buffer' | 'control';
  /** Distances from the centre, metres. */
  from: number;
  to: number;
  before: number;
  after: number;
  /** after ÷ before; null when nothing before. */
  ratio: number | null;
  /** The change relative to the control's: (after ÷ before) ÷ (control after ÷ control before); null for the control or when not defined. */
  relative: number | null;
}

export function countRows(ev: Pick<Evaluation, 'counts' | 'areas'>): CountRow[] {
  const { before, after } = ev.counts;
  const a = ev.areas;
  const ratio = (b: number, x: number) => (b > 0 ? x / b : null);
  const control = ratio(before.control, after.control);
  const rel = (r: number | null) => (r !== null && control !== null && control > 0 ? r / control : null);
  const rt = ratio(before.target, after.target);
  const rb = ratio(before.buffer, after.buffer);
  return [
    { area: 'target', from: 0, to: a.target_radius_m, before: before.target, after: after.target, ratio: rt, relative: rel(rt) },
    { area: 'buffer', from: a.target_radius_m, to: a.buffer_outer_m, before: before.buffer, after: after.buffer, ratio: rb, relative: rel(rb) },
    { area: 'control', from: a.buffer_outer_m, to: a.control_outer_m, before: before.control, after: after.control, ratio: control, relative: null },
  ];
}

export function areaLabel(area: 'target' | 'buffer' | 'control', l: Lang = lang()): string {
  return tIn(l, `ev.area.${area}` as Key);
}

/** "0–200 м". */
export function distanceText(from: number, to: number, l: Lang = lang()): string {
  return tIn(l, 'ev.distance', { from: fmtInt(from, l), to: fmtInt(to, l) });
}

export const COUNTS_CSV_HEADER = ['area', 'from_m', 'to_m', 'before', 'after', 'change', 'change_relative_to_control'];

export function countsCsvRows(ev: Pick<Evaluation, 'counts' | 'areas'>): unknown[][] {
  return countRows(ev).map((r) => [r.area, r.from, r.to, r.before, r.after, r.ratio === null ? '' : round4(r.ratio - 1), r.relative === null ? '' : round4(r.relative - 1)]);
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

// ---- Series ----

export type SeriesScale = 'count' | 'index';

/**
 * The three areas' series: counts per period, or an index (the period's count ÷ the area's mean
 * before the start × 100), so that areas of very different sizes can be compared.
 */
export function seriesValues(s: Evaluation['series'], scale: SeriesScale): { target: (number | null)[]; buffer: (number | null)[]; control: (number | null)[] } {
  const index = (v: number[]): (number | null)[] => {
    if (scale === 'count') return [...v];
    const before = v.slice(0, s.first_after);
    const mean = before.length ? before.reduce((a, b) => a + b, 0) / before.length : 0;
    return v.map((x) => (mean > 0 ? Math.round((x / mean) * 1000) / 10 : null));
  };
  return { target: index(s.target), buffer: index(s.buffer), control: index(s.control) };
}

/** A period's label on the chart: a week by its first day ("2 июн."), a month by name and year. */
export function periodLabel(p: string, period: 'week' | 'month', l: Lang = lang()): string {
  if (period === 'month') {
    const m = /^(\d{4})-(\d{2})$/.exec(p);
    if (!m) return p;
    if (l === 'kk' && !namesMonths(l)) return `${m[2]}.${m[1]}`;
    return new Intl.DateTimeFormat(localeOf(l), { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)));
  }
  if (!isIsoDate(p)) return p;
  const [y, mo, d] = p.split('-').map(Number);
  return new Intl.DateTimeFormat(l === 'en' ? 'en-GB' : 'ru-RU', { day: '2-digit', month: '2-digit', year: '2-digit', timeZone: 'UTC' }).format(new Date(Date.UTC(y, mo - 1, d)));
}

export const SERIES_CSV_HEADER = ['period', 'after_start', 'target', 'buffer', 'control'];

export function seriesCsvRows(s: Evaluation['series']): unknown[][] {
  return s.periods.map((p, i) => [p, i >= s.first_after, s.target[i] ?? 0, s.buffer[i] ?? 0, s.control[i] ?? 0]);
}

// ---- Rings on the map ----

const EARTH_RADIUS_M = 6_371_008.8;

/** A closed ring of `steps` points at `radius` metres around a centre, as [lon, lat]. */
export function circleRing(lat: number, lon: number, radius: number, steps = 64, reverse = false): [number, number][] {
  const out: [number, number][] = [];
  const dLat = ((radius / EARTH_RADIUS_M) * 180) / Math.PI;
  const dLon = dLat / Math.max(1e-6, Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= steps; i++) {
    const k = i === steps ? 0 : i;
    const a = ((reverse ? -k : k) / steps) * 2 * Math.PI;
    out.push([Math.round((lon + dLon * Math.cos(a)) * 1e7) / 1e7, Math.round((lat + dLat * Math.sin(a)) * 1e7) / 1e7]);
  }
  return out;
}

/** A disc (inner 0) or an annulus (the inner ring as a hole) around a centre. */
export function ringPolygon(lat: number, lon: number, inner: number, outer: number, steps = 64): GeoJSON.Polygon {
  const rings = [circleRing(lat, lon, outer, steps)];
  if (inner > 0) rings.push(circleRing(lat, lon, inner, steps, true));
  return { type: 'Polygon', coordinates: rings };
}

/** The target, buffer and control areas as features (property `area`). */
export function areaFeatures(lat: number, lon: number, areas: Evaluation['areas']): GeoJSON.Feature<GeoJSON.Polygon, { area: string }>[] {
  const f = (area: string, inner: number, outer: number): GeoJSON.Feature<GeoJSON.Polygon, { area: string }> => ({ type: 'Feature', geometry: ringPolygon(lat, lon, inner, outer), properties: { area } });
  const out = [f('target', 0, areas.target_radius_m)];
  if (areas.buffer_outer_m > areas.target_radius_m) out.push(f('buffer', areas.target_radius_m, areas.buffer_outer_m));
  out.push(f('control', areas.buffer_outer_m, areas.control_outer_m));
  return out;
}

/** Great-circle distance in metres (to check the rings). */
export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

// ---- The new measure's form ----

export interface InterventionInput {
  name: string;
  kind: string;
  starts_on: string;
  lat: string;
  lon: string;
  radius_m: string;
  assignment_id: string;
  note: string;
}

/** The problems of a new measure's fields (translation keys), empty when it can be sent. */
export function interventionProblems(x: InterventionInput): Key[] {
  const out: Key[] = [];
  if (!x.name.trim()) out.push('ev.f.needName');
  if (!KINDS.includes(x.kind as InterventionKind)) out.push('ev.f.needKind');
  if (!isIsoDate(x.starts_on)) out.push('ev.f.needStart');
  const lat = Number(x.lat), lon = Number(x.lon);
  if (x.lat.trim() === '' || x.lon.trim() === '' || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) out.push('ev.f.needCentre');
  const r = Number(x.radius_m);
  if (x.radius_m.trim() === '' || !Number.isFinite(r) || r < 10 || r > 5000) out.push('ev.f.needRadius');
  if (x.assignment_id.trim() !== '' && !/^\d+$/.test(x.assignment_id.trim())) out.push('ev.f.needAssignment');
  return out;
}

/** The POST body of a new measure (call after `interventionProblems` is empty). */
export function interventionBody(x: InterventionInput): { name: string; kind: string; starts_on: string; lat: number; lon: number; radius_m: number; assignment_id: number | null; note: string } {
  return {
    name: x.name.trim(),
    kind: x.kind,
    starts_on: x.starts_on,
    lat: Number(x.lat),
    lon: Number(x.lon),
    radius_m: Number(x.radius_m),
    assignment_id: x.assignment_id.trim() ? Number(x.assignment_id.trim()) : null,
    note: x.note.trim(),
  };
}

/** Six decimals of a coordinate (about 10 cm). */
export function coord(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toFixed(6);
}
