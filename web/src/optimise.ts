// The optimiser panel of the planning page and the planning layers of the maps: budgets,
// result rows, proposed sites as GeoJSON, scenario headlines, beat colours, street coverage
// columns. Pure functions of the server's JSON and a language (no DOM), so vitest can load them.

import type { BeatSummary, CameraCoverage, CameraPlan, PlanSite, PostPlan, Scenario } from './api';
import { fmtPct } from './forecast';
import { fmtDec, fmtInt, lang, tIn, type Key, type Lang } from './i18n';

export type PlanWhat = 'cameras' | 'stationary' | 'mobile' | 'beats';
export const PLAN_WHATS: PlanWhat[] = ['cameras', 'stationary', 'mobile', 'beats'];

/** Default budgets per kind of plan. */
export const DEFAULT_K: Record<Exclude<PlanWhat, 'beats'>, string> = { cameras: '10,20,50', stationary: '5,10', mobile: '5,10' };

/**
 * Budgets "5, 10,20" → [5, 10, 20]: one to five whole numbers 1-200 (as the server takes them);
 * null when the text is not such a list. Duplicates are dropped, the order kept.
 */
export function parseBudgets(text: string): number[] | null {
  const parts = text.split(/[,;\s]+/).filter((x) => x !== '');
  if (parts.length === 0) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) return null;
    const n = Number(p);
    if (n < 1 || n > 200) return null;
    if (!out.includes(n)) out.push(n);
  }
  return out.length <= 5 ? out : null;
}

/** The query parameters of a plan (the same go into a saved scenario). Empty values are left out. */
export interface PlanForm {
  what: PlanWhat;
  k: string;
  range: string;
  minutes: string;
  mode: string;
  objective: string;
  timeLimit: string;
  n: string;
  cell: string;
  from: string;
  to: string;
  category: string;
}

export function planParams(f: PlanForm): Record<string, string> {
  const p: Record<string, string> = {};
  const put = (k: string, v: string) => {
    if (v.trim() !== '') p[k] = v.trim();
  };
  if (f.what === 'beats') {
    put('n', f.n);
    put('cell', f.cell);
  } else {
    const budgets = parseBudgets(f.k);
    put('k', budgets ? budgets.join(',') : f.k);
    if (f.what === 'cameras') put('range', f.range);
    else {
      p.kind = f.what;
      put('minutes', f.minutes);
      put('mode', f.mode);
      put('objective', f.objective);
    }
    put('time_limit', f.timeLimit);
    put('category', f.category);
  }
  put('from', f.from);
  put('to', f.to);
  return p;
}

/** The API path of a plan (without the query). */
export function planPath(what: PlanWhat): string {
  return what === 'cameras' ? 'plans/cameras' : what === 'beats' ? 'plans/beats' : 'plans/posts';
}

/** One row of the results table. */
export interface PlanRow {
  /** Index of the shift (0 for cameras and stationary posts) and of the budget in it. */
  shift: number;
  plan: number;
  shiftName: string | null;
  budget: number;
  /** The objective in words: "312 incidents" or "3.4 min". */
  objective: string;
  share: number | null;
  gain: number | null;
  gap: number | null;
  status: string;
  seconds: number;
  sites: number;
}

export function cameraPlanRows(plan: CameraPlan, l: Lang = lang()): PlanRow[] {
  return (plan.plans ?? []).map((p, i) => ({
    shift: 0,
    plan: i,
    shiftName: null,
    budget: p.budget,
    objective: tIn(l, 'opt.nIncidents', { n: fmtInt(Math.round(p.new_incidents_covered), l) }),
    share: p.total_share,
    gain: p.new_share,
    gap: p.gap,
    status: p.status,
    seconds: p.seconds,
    sites: p.sites?.length ?? 0,
  }));
}

export function postPlanRows(plan: PostPlan, l: Lang = lang()): PlanRow[] {
  const rows: PlanRow[] = [];
  (plan.shifts ?? []).forEach((s, si) =>
    (s.plans ?? []).forEach((p, i) =>
      rows.push({
        shift: si,
        plan: i,
        shiftName: plan.kind === 'mobile' ? shiftName(s.shift, l) : null,
        budget: p.budget,
        objective:
          plan.objective === 'median' && p.mean_minutes !== null && p.mean_minutes !== undefined
            ? tIn(l, 'opt.meanMinutes', { n: fmtDec(p.mean_minutes, 1, 1, l) })
            : tIn(l, 'opt.nIncidents', { n: fmtInt(Math.round(p.incidents_within), l) }),
        share: p.share_within,
        gain: p.gain_share,
        gap: p.gap,
        status: p.status,
        seconds: p.seconds,
        sites: p.sites?.length ?? 0,
      }),
    ),
  );
  return rows;
}

/** The sites of one row. */
export function rowSites(result: CameraPlan | PostPlan, row: Pick<PlanRow, 'shift' | 'plan'>): PlanSite[] {
  if ('shifts' in result) return result.shifts?.[row.shift]?.plans?.[row.plan]?.sites ?? [];
  return result.plans?.[row.plan]?.sites ?? [];
}

/** The row shown first: the largest budget (of the first shift). */
export function defaultRow(rows: PlanRow[]): PlanRow | null {
  const first = rows.filter((r) => r.shift === (rows[0]?.shift ?? 0));
  return first.reduce<PlanRow | null>((a, r) => (!a || r.budget > a.budget ? r : a), null);
}

/** Incidents a site brings (cameras: seen; posts: within the time standard). */
export function siteIncidents(s: PlanSite): number {
  return Number(s.incidents_within ?? s.incidents ?? 0);
}

/** Proposed sites as points (properties: rank from 1, incidents). */
export function sitesCollection(sites: PlanSite[]): GeoJSON.FeatureCollection<GeoJSON.Point, { rank: number; incidents: number }> {
  return {
    type: 'FeatureCollection',
    features: sites
      .filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon))
      .map((s, i) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { rank: i + 1, incidents: siteIncidents(s) } })),
  };
}

/** The dosage spots of mobile points as points (properties: site rank, incidents, minutes away). */
export function spotsCollection(sites: PlanSite[]): GeoJSON.FeatureCollection<GeoJSON.Point, { site: number; incidents: number; minutes: number }> {
  const features: GeoJSON.Feature<GeoJSON.Point, { site: number; incidents: number; minutes: number }>[] = [];
  sites.forEach((s, i) => {
    for (const p of s.dosage?.spots ?? []) {
      if (!Number.isFinite(p.lat) || !Number.isFinite(p.lon)) continue;
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { site: i + 1, incidents: p.incidents, minutes: p.minutes_away } });
    }
  });
  return { type: 'FeatureCollection', features };
}

/** The optimality gap as a percentage ("0.12 %"); "0 %" when proved optimal; "—" when unknown. */
export function fmtGap(gap: number | null | undefined, l: Lang = lang()): string {
  if (gap === null || gap === undefined || !Number.isFinite(gap)) return tIn(l, 'common.none');
  if (gap === 0) return fmtPct(0, l);
  return `${fmtDec(gap * 100, 2, 2, l)} %`;
}

/** A gain in percentage points ("+4.2 pp"). */
export function fmtGain(gain: number | null | undefined, l: Lang = lang()): string {
  if (gain === null || gain === undefined || !Number.isFinite(gain)) return tIn(l, 'common.none');
  return tIn(l, 'opt.pp', { n: `${gain >= 0 ? '+' : '−'}${fmtDec(Math.abs(gain) * 100, 1, 1, l)}` });
}

export function statusName(status: string, l: Lang = lang()): string {
  return status === 'optimal' || status === 'feasible' ? tIn(l, `opt.status.${status}` as Key) : status;
}

/** A shift's name in words: day, evening and night are translated, other names kept. */
export function shiftName(name: string, l: Lang = lang()): string {
  return name === 'day' || name === 'evening' || name === 'night' ? tIn(l, `opt.shiftName.${name}` as Key) : name;
}

export function methodName(m: string, l: Lang = lang()): string {
  return m === 'exact' || m === 'heuristic' ? tIn(l, `opt.method.${m}` as Key) : m;
}

export function fmtSeconds(s: number, l: Lang = lang()): string {
  if (s > 0 && s < 0.01) return tIn(l, 'opt.seconds', { n: `< ${fmtDec(0.01, 2, 2, l)}` });
  return tIn(l, 'opt.seconds', { n: fmtDec(s, s < 10 ? 1 : 0, s < 10 ? 2 : 0, l) });
}

export function kindName(what: PlanWhat | string, l: Lang = lang()): string {
  return (PLAN_WHATS as string[]).includes(what) ? tIn(l, `opt.what.${what}` as Key) : what;
}

/** A saved scenario's kind in words: cameras, stationary posts or mobile points. */
export function scenarioKind(s: Pick<Scenario, 'kind' | 'params' | 'result'>, l: Lang = lang()): string {
  if (s.kind === 'cameras') return kindName('cameras', l);
  const k = (s.result as PostPlan | undefined)?.kind ?? s.params?.kind ?? 'stationary';
  return kindName(k === 'mobile' ? 'mobile' : 'stationary', l);
}

/**
 * The headline of a saved scenario: the largest budget's coverage and gain
 * ("k = 20: 38 % (+6.1 pp)"); for mobile points, per shift.
 */
export function scenarioHeadline(s: Pick<Scenario, 'kind' | 'result'>, l: Lang = lang()): string {
  const r = s.result;
  if (!r) return tIn(l, 'common.none');
  if (s.kind === 'cameras' && 'plans' in r) {
    const best = [...(r.plans ?? [])].sort((a, b) => b.budget - a.budget)[0];
    return best ? tIn(l, 'sc.headline', { k: fmtInt(best.budget, l), share: fmtPct(best.total_share, l), gain: fmtGain(best.new_share, l) }) : tIn(l, 'common.none');
  }
  if ('shifts' in r) {
    const parts = (r.shifts ?? []).map((sh) => {
      const best = [...(sh.plans ?? [])].sort((a, b) => b.budget - a.budget)[0];
      if (!best) return '';
      const text =
        r.objective === 'median' && best.mean_minutes !== null && best.mean_minutes !== undefined
          ? tIn(l, 'sc.headlineMedian', { k: fmtInt(best.budget, l), min: fmtDec(best.mean_minutes, 1, 1, l) })
          : tIn(l, 'sc.headline', { k: fmtInt(best.budget, l), share: fmtPct(best.share_within, l), gain: fmtGain(best.gain_share, l) });
      return r.kind === 'mobile' ? `${shiftName(sh.shift, l)}: ${text}` : text;
    });
    return parts.filter((x) => x).join('; ') || tIn(l, 'common.none');
  }
  return tIn(l, 'common.none');
}

/** Twelve distinguishable fills for beats (ColorBrewer Set3 / Paired, light enough to read lines through). */
export const BEAT_COLORS = ['#8dd3c7', '#ffffb3', '#bebada', '#fb8072', '#80b1d3', '#fdb462', '#b3de69', '#fccde5', '#d9d9d9', '#bc80bd', '#ccebc5', '#ffed6f'];

export function beatColor(i: number): string {
  return BEAT_COLORS[((i % BEAT_COLORS.length) + BEAT_COLORS.length) % BEAT_COLORS.length];
}

/** Copies the features with a `_c` fill colour, one per beat in order. */
export function colourBeats<F extends GeoJSON.Feature>(fc: { features: F[] }): GeoJSON.FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: (fc.features ?? []).filter((f) => f.geometry).map((f, i) => ({ ...f, properties: { ...(f.properties ?? {}), _c: beatColor(i) } })),
  };
}

/** Imbalance in words: "max/mean 1.32, CV 0.18". */
export function imbalanceText(s: BeatSummary | null | undefined, l: Lang = lang()): string {
  if (!s) return tIn(l, 'common.none');
  return tIn(l, 'beat.imbalance', { max: fmtDec(s.max_to_mean, 2, 2, l), cv: fmtDec(s.coefficient_of_variation, 2, 2, l) });
}

// ---- Street coverage columns of the coverage table ----

/** Which extra columns the districts have: hot cells, street kilometres. */
export function coverageExtras(cov: Pick<CameraCoverage, 'districts'>): { hot: boolean; streets: boolean } {
  const ds = cov.districts ?? [];
  return { hot: ds.some((d) => d.hot_cells !== undefined && d.hot_cells !== null), streets: ds.some((d) => d.street_km !== undefined && d.street_km !== null) };
}

export function fmtKm(km: number | null | undefined, l: Lang = lang()): string {
  if (km === null || km === undefined || !Number.isFinite(km)) return tIn(l, 'common.none');
  return fmtDec(km, km < 10 ? 1 : 0, km < 10 ? 1 : 0, l);
}

/** Street kilometres in view in one sentence; null without a street network. */
export function streetSentence(cov: Pick<CameraCoverage, 'streets'>, l: Lang = lang()): string | null {
  const s = cov.streets;
  if (!s) return null;
  return tIn(l, 'cov.sStreets', { n: fmtKm(s.km_covered, l), m: fmtKm(s.km, l), pct: fmtPct(s.share ?? (s.km > 0 ? s.km_covered / s.km : null), l), gaps: fmtInt(s.gap_segments, l) });
}
