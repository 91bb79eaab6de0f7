import { describe, expect, it } from 'vitest';
import type { CameraPlan, PostPlan } from '../src/api';
import { hasKey } from '../src/i18n';
import {
  BEAT_COLORS,
  PLAN_WHATS,
  beatColor,
  cameraPlanRows,
  colourBeats,
  coverageExtras,
  defaultRow,
  fmtGain,
  fmtGap,
  imbalanceText,
  parseBudgets,
  planParams,
  planPath,
  postPlanRows,
  rowSites,
  scenarioHeadline,
  scenarioKind,
  shiftName,
  sitesCollection,
  spotsCollection,
  streetSentence,
  type PlanForm,
} from '../src/optimise';

const cameraPlan: CameraPlan = {
  incidents: 600,
  demand_places: 600,
  existing: { working_cameras: 2, incidents_covered: 6, share: 0.01 },
  candidates: { source: 'intersections', count: 2099 },
  range_m: 50,
  method: 'exact',
  plans: [
    { budget: 5, new_incidents_covered: 45, new_share: 0.075, total_share: 0.085, bound: 45, gap: 0, status: 'optimal', seconds: 0.0026, sites: [{ lat: 60.17, lon: 24.94, incidents: 10 }] },
    { budget: 10, new_incidents_covered: 73, new_share: 0.1217, total_share: 0.1317, bound: 74, gap: 0.0135, status: 'feasible', seconds: 2.5, sites: [{ lat: 60.17, lon: 24.94, incidents: 10 }, { lat: 60.16, lon: 24.95, incidents: 5 }] },
  ],
};

const site = (lat: number, lon: number, n: number, spots = 0) => ({
  lat,
  lon,
  incidents_within: n,
  dosage: spots ? { visit_minutes: '10-15', rounds_per_shift: 4, order: 'random', spots: Array.from({ length: spots }, (_, i) => ({ lat: lat + i / 1000, lon, incidents: 1, minutes_away: 2.5 })) } : undefined,
});
const postPlan: PostPlan = {
  kind: 'mobile',
  objective: 'coverage',
  minutes: 5,
  mode: 'walk',
  network: 'streets',
  candidates: { source: 'intersections', count: 2095 },
  registered: 1,
  method: 'exact',
  shifts: ['day', 'evening', 'night'].map((s, i) => ({
    shift: s,
    window: '08:00-16:00',
    incidents: 100 + i,
    demand_places: 50,
    without_hour: 0,
    unreachable: 0,
    existing: { on_duty: 1, incidents_within: 9, share: 0.09 },
    plans: [
      { budget: 2, objective: 61, incidents_within: 61, share_within: 0.3245, gain_share: 0.234, mean_minutes: null, bound: 61, gap: 0, status: 'optimal', seconds: 0.004, sites: [site(60.17, 24.94, 33, 3), site(60.16, 24.93, 28, 2)] },
    ],
  })),
};

describe('budgets', () => {
  it('reads one to five budgets 1-200', () => {
    expect(parseBudgets('5,10, 20')).toEqual([5, 10, 20]);
    expect(parseBudgets(' 7 ')).toEqual([7]);
    expect(parseBudgets('5;5 10')).toEqual([5, 10]);
    expect(parseBudgets('')).toBeNull();
    expect(parseBudgets('0')).toBeNull();
    expect(parseBudgets('201')).toBeNull();
    expect(parseBudgets('1.5')).toBeNull();
    expect(parseBudgets('a,b')).toBeNull();
    expect(parseBudgets('1,2,3,4,5,6')).toBeNull();
  });
});

describe('plan parameters', () => {
  const base: PlanForm = { what: 'stationary', k: '5, 10', range: '50', minutes: '5', mode: 'walk', objective: 'coverage', timeLimit: '10', n: '6', cell: '250', from: '2024-01-01', to: '', category: '' };
  it('posts: kind, minutes, mode, objective; no camera range', () => {
    expect(planParams(base)).toEqual({ k: '5,10', kind: 'stationary', minutes: '5', mode: 'walk', objective: 'coverage', time_limit: '10', from: '2024-01-01' });
    expect(planPath('mobile')).toBe('plans/posts');
  });
  it('cameras: range, no kind', () => {
    expect(planParams({ ...base, what: 'cameras', category: 'theft' })).toEqual({ k: '5,10', range: '50', time_limit: '10', category: 'theft', from: '2024-01-01' });
    expect(planPath('cameras')).toBe('plans/cameras');
  });
  it('beats: n and cell only', () => {
    expect(planParams({ ...base, what: 'beats' })).toEqual({ n: '6', cell: '250', from: '2024-01-01' });
    expect(planPath('beats')).toBe('plans/beats');
  });
});

describe('result rows', () => {
  it('cameras: one row per budget with total share and gain', () => {
    const rows = cameraPlanRows(cameraPlan, 'en');
    expect(rows.map((r) => [r.budget, r.share, r.gain, r.sites])).toEqual([
      [5, 0.085, 0.075, 1],
      [10, 0.1317, 0.1217, 2],
    ]);
    expect(rows[1].objective).toBe('73 incidents');
    expect(defaultRow(rows)?.budget).toBe(10);
    expect(rowSites(cameraPlan, rows[1])).toHaveLength(2);
  });
  it('mobile: one row per shift, shift names translated', () => {
    const rows = postPlanRows(postPlan, 'ru');
    expect(rows.map((r) => [r.shift, r.shiftName])).toEqual([
      [0, 'день'],
      [1, 'вечер'],
      [2, 'ночь'],
    ]);
    expect(defaultRow(rows)?.shift).toBe(0);
    expect(rowSites(postPlan, rows[2])).toHaveLength(2);
    expect(shiftName('weekend', 'en')).toBe('weekend');
  });
  it('median plans show the mean minutes', () => {
    const med: PostPlan = { ...postPlan, kind: 'stationary', objective: 'median', shifts: [{ ...postPlan.shifts[0], plans: [{ ...postPlan.shifts[0].plans[0], mean_minutes: 3.42 }] }] };
    const rows = postPlanRows(med, 'en');
    expect(rows[0].objective).toBe('3.4 min mean');
    expect(rows[0].shiftName).toBeNull();
  });
});

describe('sites on the map', () => {
  it('sites and dosage spots as points', () => {
    const sites = postPlan.shifts[0].plans[0].sites;
    const fc = sitesCollection(sites);
    expect(fc.features).toHaveLength(2);
    expect(fc.features[0].geometry.coordinates).toEqual([24.94, 60.17]);
    expect(fc.features[1].properties).toEqual({ rank: 2, incidents: 28 });
    const spots = spotsCollection(sites);
    expect(spots.features).toHaveLength(5);
    expect(spots.features[4].properties.site).toBe(2);
  });
  it('drops sites without coordinates', () => {
    expect(sitesCollection([{ lat: NaN, lon: 1 }]).features).toHaveLength(0);
  });
});

describe('formatting', () => {
  it('gap, gain', () => {
    expect(fmtGap(0, 'en')).toBe('0%');
    expect(fmtGap(0.0135, 'en')).toBe('1.35 %');
    expect(fmtGap(null, 'en')).toBe('—');
    expect(fmtGain(0.234, 'en')).toBe('+23.4 pp');
    expect(fmtGain(-0.01, 'ru')).toBe('−1,0 п.п.');
  });
  it('scenario headlines and kinds', () => {
    expect(scenarioHeadline({ kind: 'cameras', result: cameraPlan }, 'en')).toBe('k = 10: 13% (+12.2 pp)');
    expect(scenarioHeadline({ kind: 'posts', result: postPlan }, 'en')).toMatch(/^day: k = 2: 32% \(\+23\.4 pp\); evening: .*; night: /);
    expect(scenarioKind({ kind: 'posts', params: { kind: 'mobile' }, result: postPlan }, 'en')).toBe('Mobile points');
    expect(scenarioKind({ kind: 'cameras', params: {}, result: cameraPlan }, 'ru')).toBe('Новые камеры');
  });
  it('beat colours and imbalance', () => {
    expect(beatColor(0)).toBe(BEAT_COLORS[0]);
    expect(beatColor(BEAT_COLORS.length)).toBe(BEAT_COLORS[0]);
    const fc = colourBeats({ features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [0, 0] }, properties: { name: 'A' } }, { type: 'Feature', geometry: null as unknown as GeoJSON.Point, properties: {} }] });
    expect(fc.features).toHaveLength(1);
    expect(fc.features[0].properties).toEqual({ name: 'A', _c: BEAT_COLORS[0] });
    expect(imbalanceText({ beats: 6, mean_workload: 10, max_to_mean: 1.324, coefficient_of_variation: 0.18 }, 'en')).toBe('max/mean 1.32, CV 0.18');
    expect(imbalanceText(null, 'en')).toBe('—');
  });
  it('street coverage', () => {
    expect(coverageExtras({ districts: [{ district: null, incidents: 1, covered: 0, share: 0 }] })).toEqual({ hot: false, streets: false });
    expect(coverageExtras({ districts: [{ district: null, incidents: 1, covered: 0, share: 0, hot_cells: 3, street_km: 1.2 }] })).toEqual({ hot: true, streets: true });
    expect(streetSentence({ streets: null }, 'en')).toBeNull();
    expect(streetSentence({ streets: { km: 101.31, km_covered: 1.77, share: 0.0175, gap_segments: 177 } }, 'en')).toContain('1.8 km of 101 km (1.8%)');
  });
  it('every kind of plan has its name and hint', () => {
    for (const w of PLAN_WHATS) {
      expect(hasKey(`opt.what.${w}`)).toBe(true);
      expect(hasKey(`opt.hint.${w}`)).toBe(true);
    }
  });
});
