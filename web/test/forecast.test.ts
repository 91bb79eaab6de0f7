import { describe, expect, it } from 'vitest';
import type { BacktestResult, Forecast, ForecastDistrictShare, ForecastMeta } from '../src/api';
import { toCsv } from '../src/export';
import {
  CELLS_CSV_HEADER,
  DISTRICTS_CSV_HEADER,
  HORIZONS,
  MODELS,
  MODEL_STYLE,
  RANK_COLORS,
  areaText,
  backtestSentences,
  backtestTableRows,
  bestIndex,
  btCoverages,
  btCsvHeader,
  btCsvRows,
  btSeries,
  cellCentre,
  cellLines,
  cellsCsvRows,
  coverageIndex,
  coverageSlug,
  delayText,
  districtCsvRows,
  districtLabel,
  districtRows,
  fitMetaText,
  fitText,
  flaggedDistricts,
  fmtPct,
  fmtPoints,
  fmtRatio,
  fmtScore,
  fmtShortDay,
  fmtStamp,
  horizonName,
  horizonText,
  isFlagged,
  modelAbout,
  modelName,
  namesMonths,
  parseStamp,
  rankClass,
  rankClasses,
  rankLegendLabel,
  scoreLabel,
  sortDistricts,
  stampFormat,
  windowText,
} from '../src/forecast';
import { DICTS, hasKey } from '../src/i18n';

const NBSP = '\u00a0';
/** Locale output uses (narrow) no-break spaces: compare with plain spaces. */
const sp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/** The example answer of the contract. */
function meta(over: Partial<ForecastMeta> = {}): ForecastMeta {
  return {
    model: 'sepp',
    horizon: 'week',
    horizon_hours: 168,
    origin: '2022-01-01 00:00',
    window_end: '2022-01-08 00:00',
    cell_metres: 200,
    coverage: 0.05,
    area_cells: 9219,
    selected_cells: 461,
    expected_events: 812.4,
    fit: { theta: 0.85, mean_delay_hours: 3656, sigma_metres: 25, background_per_day: 30.0, events: 34064, iterations: 26 },
    backtest: {
      origins: 8,
      first_origin: '2021-11-06 00:00',
      last_origin: '2021-12-25 00:00',
      coverage: 0.05,
      model: { hit_rate: 0.33, pai: 6.7, pei_star: 0.39 },
      naive: { hit_rate: 0.21, pai: 4.3, pei_star: 0.25 },
    },
    districts: [
      { district: 'Downtown Yonge', forecast_area_share: 0.12, incident_share: 0.08, forecast_cells: 55, incidents: 1234 },
      { district: null, forecast_area_share: 0.01, incident_share: 0.0, forecast_cells: 3, incidents: 0 },
    ],
    incidents_from: '2021-01-01',
    incidents_to: '2021-12-31',
    category: null,
    left_out: 0,
    ...over,
  };
}

function forecast(): Forecast {
  const square = (x: number, y: number): GeoJSON.Polygon => ({
    type: 'Polygon',
    coordinates: [[[x, y], [x + 0.002, y], [x + 0.002, y + 0.002], [x, y + 0.002], [x, y]]],
  });
  return {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: square(-79.39, 43.65), properties: { cell: 7, rank: 2, score: 1.5, district: null } },
      { type: 'Feature', geometry: square(-79.38, 43.66), properties: { cell: 1234, rank: 1, score: 3.21, district: 'Downtown Yonge' } },
    ],
    qalqan: meta(),
  };
}

function backtest(): BacktestResult {
  const cov = (c: number, hit: number | null) => ({ coverage: c, mean_hit_rate: hit, pooled_hit_rate: hit, mean_pai: hit === null ? null : hit / c, mean_pei_star: hit === null ? null : hit * 1.2 });
  return {
    models: [
      { model: 'naive', origins: 2, origins_with_events: 2, test_events: 1300, seconds: 0.01, coverages: [cov(0.01, 0.08), cov(0.05, 0.21), cov(0.1, 0.26)] },
      { model: 'sepp', origins: 2, origins_with_events: 2, test_events: 1300, seconds: 1.9, coverages: [cov(0.01, 0.14), cov(0.05, 0.33), cov(0.1, 0.4)] },
    ],
    rows: [
      { origin: '2021-10-16 00:00', model: 'sepp', test_events: 640, hit_rate: [0.15, 0.34, 0.41], pai: [15, 6.8, 4.1], pei_star: [0.5, 0.4, 0.45] },
      { origin: '2021-10-09 00:00', model: 'naive', test_events: 650, hit_rate: [0.08, 0.21, 0.26], pai: [8.1, 4.2, 2.6], pei_star: [0.3, 0.25, 0.27] },
      { origin: '2021-10-09 00:00', model: 'sepp', test_events: 650, hit_rate: [0.13, null, 0.39], pai: [13, null, 3.9], pei_star: [0.45, null, 0.44] },
    ],
    area_cells: 9219,
    test_events_outside_area: 0,
    params: { from: '2021-10-09', to: '2021-10-16', step: 'week', horizon: 'week', cell: 200, models: ['naive', 'sepp'] },
  };
}

describe('forecast labels', () => {
  it('names every model and horizon in every language', () => {
    for (const l of ['ru', 'kk', 'en'] as const) {
      for (const m of MODELS) {
        expect(hasKey(`fc.model.${m}`)).toBe(true);
        expect(modelName(m, l)).not.toBe(m);
        expect(modelAbout(m, l)).not.toBe('');
        expect(scoreLabel(m, l)).toBe(DICTS[l][`fc.score.${m}` as keyof (typeof DICTS)['ru']]);
      }
      for (const x of HORIZONS) expect(horizonName(x, l)).toBe(DICTS[l][`fc.horizon.${x}` as keyof (typeof DICTS)['ru']]);
      for (const x of HORIZONS) expect(hasKey(`fc.btNaive.${x}`)).toBe(true);
    }
    expect(modelName('sepp', 'en')).toBe('Self-exciting point process (SEPP)');
    expect(modelName('etas', 'en')).toBe('etas');
    expect(scoreLabel('etas', 'en')).toBe('Score');
    expect(horizonName('shift', 'ru')).toBe('Смена (8 ч)');
  });

  it('formats shares, ratios, points and scores in the locale', () => {
    expect(sp(fmtPct(0.05, 'ru'))).toBe('5 %');
    expect(fmtPct(0.05, 'en')).toBe('5%');
    expect(fmtPct(0.012, 'en')).toBe('1.2%');
    expect(sp(fmtPct(0.012, 'ru'))).toBe('1,2 %');
    expect(fmtPct(0.336, 'en')).toBe('34%');
    expect(fmtPct(null, 'en')).toBe('—');
    expect(fmtRatio(6.7, 'ru')).toBe('6,7');
    expect(fmtRatio(null, 'ru')).toBe('—');
    expect(fmtPoints(0.04, 'en')).toBe('+4.0 pts');
    expect(fmtPoints(-0.015, 'ru')).toBe('\u22121,5 п. п.');
    expect(fmtPoints(0, 'en')).toBe('0.0 pts');
    expect(fmtScore(3.2149, 'en')).toBe('3.21');
    expect(fmtScore(0.012345, 'en')).toBe('0.0123');
    expect(sp(fmtScore(1234.6, 'ru'))).toBe('1 235');
  });

  it('writes local stamps in the locale without a time zone shift', () => {
    expect(parseStamp('2022-01-01 08:30')).toEqual({ y: 2022, m: 1, d: 1, hh: 8, mm: 30 });
    expect(parseStamp('2021-12-31')).toEqual({ y: 2021, m: 12, d: 31, hh: 0, mm: 0 });
    expect(parseStamp('soon')).toBeNull();
    expect(sp(fmtStamp('2022-01-01 00:00', false, 'en'))).toBe('1 Jan 2022');
    expect(sp(fmtStamp('2021-12-31', false, 'en'))).toBe('31 Dec 2021');
    expect(sp(fmtStamp('2022-01-01 08:00', false, 'en'))).toBe('1 Jan 2022, 08:00');
    expect(sp(fmtStamp('2022-01-01 00:00', true, 'ru'))).toMatch(/^1 янв\. 2022( г\.)?,? 00:00$/);
    expect(fmtStamp(null, false, 'en')).toBe('—');
    expect(sp(windowText(meta(), 'en'))).toBe('1 Jan 2022, 00:00 → 8 Jan 2022, 00:00');
    expect(sp(horizonText(meta(), 'en'))).toBe('week, 168 h');
    expect(sp(horizonText(meta({ horizon: 'shift', horizon_hours: 8 }), 'ru'))).toBe('смена (8 ч), 8 ч');
    expect(sp(fmtShortDay('2021-10-09 00:00', 'en'))).toBe('9 Oct');
    // Without Kazakh month names in the browser's ICU data, Kazakh dates are numbers.
    expect(namesMonths('en')).toBe(true);
    expect(sp(stampFormat('kk', false, false).format(new Date(Date.UTC(2022, 0, 1))))).toBe('01.01.2022');
    expect(sp(stampFormat('kk', true, false).format(new Date(Date.UTC(2022, 0, 8, 8))))).toBe('08.01.2022, 08:00');
    expect(sp(stampFormat('kk', false, false, false).format(new Date(Date.UTC(2021, 9, 9))))).toBe('09.10');
    expect(fmtStamp('2022-01-01', false, 'kk')).not.toMatch(/M01/);
  });
});

describe('cells by rank', () => {
  it('puts the top third in the darkest class', () => {
    expect(rankClass(1, 461)).toBe(0);
    expect(rankClass(154, 461)).toBe(0);
    expect(rankClass(155, 461)).toBe(1);
    expect(rankClass(308, 461)).toBe(1);
    expect(rankClass(309, 461)).toBe(2);
    expect(rankClass(461, 461)).toBe(2);
    expect(rankClass(1, 1)).toBe(0);
    expect(rankClass(2, 2)).toBe(1);
    expect(rankClass(1, 0)).toBe(0);
    // The darkest colour is the first.
    expect(RANK_COLORS[0]).toBe('#b10026');
  });

  it('lists the non-empty classes for the legend', () => {
    expect(rankClasses(461).map((c) => [c.cls, c.from, c.to])).toEqual([
      [0, 1, 154],
      [1, 155, 308],
      [2, 309, 461],
    ]);
    expect(rankClasses(2).map((c) => [c.cls, c.from, c.to])).toEqual([
      [0, 1, 1],
      [1, 2, 2],
    ]);
    expect(rankClasses(0)).toEqual([]);
    expect(rankLegendLabel({ cls: 0, from: 1, to: 154 }, 'en')).toBe('1–154: top third');
    expect(rankLegendLabel({ cls: 1, from: 2, to: 2 }, 'ru')).toBe('2: средняя треть');
  });

  it('describes a cell for its popup', () => {
    expect(cellLines({ cell: 1234, rank: 1, score: 3.21, district: 'Downtown Yonge' }, meta(), 'en')).toEqual([
      ['Rank', '1 of 461'],
      ['Expected incidents', '3.21'],
      ['District', 'Downtown Yonge'],
    ]);
    expect(cellLines({ cell: 7, rank: 3, score: 12, district: null }, meta({ model: 'naive' }), 'en')[2]).toEqual(['District', 'Outside districts']);
    expect(cellLines({ cell: 7, rank: 3, score: 12, district: null }, meta({ model: 'naive' }), 'en')[1][0]).toBe('Incidents in the last period');
  });

  it('writes the cells as CSV by rank, with their centres', () => {
    expect(cellCentre(forecast().features[1].geometry)).toEqual([-79.379, 43.661]);
    expect(cellCentre(null)).toBeNull();
    const rows = cellsCsvRows(forecast());
    expect(rows).toEqual([
      [1, 1234, 3.21, 'Downtown Yonge', -79.379, 43.661],
      [2, 7, 1.5, '', -79.389, 43.651],
    ]);
    expect(toCsv(CELLS_CSV_HEADER, rows).split('\r\n')[0]).toBe('rank,cell,score,district,lon,lat');
  });
});

describe('model card', () => {
  it('says how much of the area is selected', () => {
    expect(sp(areaText(meta(), 'en'))).toBe('461 cells of 9,219 (5% of the area, 18.4 km²)');
    expect(sp(areaText(meta(), 'ru'))).toBe('461 ячеек из 9 219 (5 % площади, 18,4 км²)');
    expect(sp(areaText(meta({ area_cells: 0, selected_cells: 0 }), 'en'))).toBe('0 cells of 0 (— of the area, 0 km²)');
  });

  it('puts the SEPP fit in plain words', () => {
    expect(delayText(3656, 'en')).toBe('152 days');
    expect(delayText(30, 'en')).toBe('30 h');
    expect(delayText(60, 'en')).toBe('2.5 days');
    const s = sp(fitText(meta().fit!, 'en'));
    expect(s).toContain('Each incident raises the chance of another nearby');
    expect(s).toContain('(θ): 0.85');
    expect(s).toContain('mean delay: 152 days');
    expect(s).toContain('about 25 m');
    expect(s).toContain('background: 30 a day');
    expect(sp(fitMetaText(meta().fit!, 'ru'))).toBe('Происшествий в подборе: 34 064; итераций: 26.');
    expect(fitMetaText({ ...meta().fit!, converged: false }, 'en')).toBe('Incidents fitted: 34,064; iterations: 26. The fit stopped at its iteration limit: the parameters are approximate.');
    expect(fitMetaText({ ...meta().fit!, converged: true }, 'en')).toBe('Incidents fitted: 34,064; iterations: 26.');
  });

  it('compares the backtest score with the naive baseline', () => {
    const s = backtestSentences(meta(), 'en').map(sp);
    expect(s).toEqual([
      'Past forecasts: the last 8 (6 Nov 2021 – 25 Dec 2021), each selecting 5% of the area.',
      'This model found 33% of the incidents in its cells (PAI 6.7).',
      "Last week's counts would have found 21% (PAI 4.3).",
      'Better than the baseline by 12.0 points.',
    ]);
    const day = backtestSentences(meta({ horizon: 'day' }), 'en');
    expect(day[2]).toContain("The previous day's counts");
    const worse = meta();
    worse.backtest!.model = { hit_rate: 0.1, pai: 2, pei_star: 0.1 };
    expect(backtestSentences(worse, 'en')[3]).toBe('Worse than the baseline by 11.0 points: trust this model with care.');
    const same = meta();
    same.backtest!.model = { hit_rate: 0.212, pai: 4.3, pei_star: 0.25 };
    expect(backtestSentences(same, 'en')[3]).toBe('No better than the baseline.');
    expect(backtestSentences(meta({ model: 'naive' }), 'en').slice(-1)).toEqual(['The naive model is itself the baseline for comparison.']);
  });

  it('says so when the backtest has no test incidents', () => {
    const none = meta();
    none.backtest!.model = { hit_rate: null, pai: null, pei_star: null };
    expect(backtestSentences(none, 'en')).toEqual(['No backtest score: there were no incidents in the test periods.']);
    expect(backtestSentences(meta({ backtest: null }), 'en')).toHaveLength(1);
    const noNaive = meta();
    noNaive.backtest!.naive = { hit_rate: null, pai: null, pei_star: null };
    expect(backtestSentences(noNaive, 'en')).toHaveLength(2);
  });

  it('tabulates this model against the baseline', () => {
    expect(backtestTableRows(meta(), 'en')).toEqual([
      ['This model', '33%', '6.7', '0.39'],
      ['Baseline (naive)', '21%', '4.3', '0.25'],
    ]);
    expect(backtestTableRows(meta({ model: 'naive' }), 'en')).toHaveLength(1);
    expect(backtestTableRows(meta({ backtest: null }), 'en')).toEqual([]);
  });
});

describe('fairness check', () => {
  const d = (district: string | null, f: number, i: number, cells = Math.round(f * 461), n = Math.round(i * 30000)): ForecastDistrictShare => ({ district, forecast_area_share: f, incident_share: i, forecast_cells: cells, incidents: n });

  it('flags districts whose forecast share far exceeds their incident share', () => {
    expect(isFlagged(0.12, 0.08)).toBe(false); // 1.5 ×
    expect(isFlagged(0.1, 0.04)).toBe(true); // 2.5 ×, +6 points
    expect(isFlagged(0.03, 0.01)).toBe(true); // 3 ×, +2 points
    expect(isFlagged(0.015, 0.0)).toBe(false); // only +1.5 points
    expect(isFlagged(0.08, 0.05)).toBe(false);
  });

  it('sorts by forecast share, keeps the top 15 and sums the rest', () => {
    const ds = [d('B', 0.05, 0.05), d(null, 0.01, 0), d('A', 0.2, 0.05)];
    for (let k = 0; k < 20; k++) ds.push(d(`Z${String(k).padStart(2, '0')}`, 0.0369, 0.04));
    expect(sortDistricts(ds)[0].district).toBe('A');
    const rows = districtRows(ds);
    // 15 districts, the cells outside districts (own row, in order of share), the other 7 together.
    expect(rows).toHaveLength(17);
    expect(rows[0]).toMatchObject({ kind: 'district', name: 'A', flagged: true });
    expect(rows[1]).toMatchObject({ name: 'B', flagged: false });
    expect(rows[15]).toMatchObject({ kind: 'none', name: null, flagged: false });
    const rest = rows[16];
    expect(rest.kind).toBe('rest');
    expect(rest.districts).toBe(7);
    const sum = (f: (x: ForecastDistrictShare) => number) => ds.reduce((a, x) => a + f(x), 0);
    expect(rows.reduce((a, r) => a + r.forecastShare, 0)).toBeCloseTo(sum((x) => x.forecast_area_share), 9);
    expect(rows.reduce((a, r) => a + r.incidents, 0)).toBe(sum((x) => x.incidents));
    expect(districtLabel(rest, 'en')).toBe('Other districts (7)');
    // The unassigned cells sort among the others and are never flagged.
    const small = districtRows([d(null, 0.3, 0), d('A', 0.2, 0.3)]);
    expect(small.map((r) => [r.kind, r.flagged])).toEqual([
      ['none', false],
      ['district', false],
    ]);
    expect(districtLabel(small[0], 'en')).toBe('Outside districts');
  });

  it('shows sixteen districts as themselves rather than fifteen and a rest of one', () => {
    const ds = Array.from({ length: 16 }, (_, k) => d(`D${k}`, 0.06 - k * 0.001, 0.06));
    expect(districtRows(ds).every((r) => r.kind === 'district')).toBe(true);
    expect(districtRows([])).toEqual([]);
  });

  it('names the flagged districts and writes every district to CSV', () => {
    const ds = [d('Calm', 0.05, 0.06), d('Hot', 0.1, 0.02), d(null, 0.2, 0.0), d('Warm', 0.04, 0.01)];
    expect(flaggedDistricts(ds)).toEqual(['Hot', 'Warm']);
    const rows = districtCsvRows(ds);
    expect(rows.map((r) => r[0])).toEqual(['', 'Hot', 'Calm', 'Warm']);
    expect(rows[1]).toEqual(['Hot', 0.1, 0.02, 0.08, 46, 600, 1]);
    expect(rows[0][6]).toBe(0);
    expect(DISTRICTS_CSV_HEADER).toHaveLength(rows[0].length);
    expect(toCsv(DISTRICTS_CSV_HEADER, districtCsvRows(meta().districts)).split('\r\n')[1]).toBe('Downtown Yonge,0.12,0.08,0.04,55,1234,0');
  });
});

describe('backtest', () => {
  it('reads the coverages and finds 5 %', () => {
    expect(btCoverages(backtest())).toEqual([0.01, 0.05, 0.1]);
    expect(btCoverages({ models: [] })).toEqual([0.01, 0.05, 0.1]);
    expect(coverageIndex([0.01, 0.05, 0.1])).toBe(1);
    expect(coverageIndex([0.02, 0.1])).toBe(0);
    expect(coverageSlug(0.1)).toBe('10');
    expect(coverageSlug(0.005)).toBe('0.5');
  });

  it('writes the rows as CSV, by origin then model, nulls empty', () => {
    const bt = backtest();
    expect(btCsvHeader(bt)).toEqual([
      'origin', 'model', 'test_events',
      'hit_rate_1pct', 'hit_rate_5pct', 'hit_rate_10pct',
      'pai_1pct', 'pai_5pct', 'pai_10pct',
      'pei_star_1pct', 'pei_star_5pct', 'pei_star_10pct',
    ]);
    const rows = btCsvRows(bt);
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(['2021-10-09 00:00 naive', '2021-10-09 00:00 sepp', '2021-10-16 00:00 sepp']);
    expect(rows[1]).toEqual(['2021-10-09 00:00', 'sepp', 650, 0.13, null, 0.39, 13, null, 3.9, 0.45, null, 0.44]);
    expect(toCsv(btCsvHeader(bt), rows).split('\r\n')[2]).toBe('2021-10-09 00:00,sepp,650,0.13,,0.39,13,,3.9,0.45,,0.44');
  });

  it('builds one series per model over the sorted origins, with gaps', () => {
    const { origins, series } = btSeries(backtest(), 1);
    expect(origins).toEqual(['2021-10-09 00:00', '2021-10-16 00:00']);
    expect(series).toEqual([
      { model: 'naive', values: [0.21, null] },
      { model: 'sepp', values: [null, 0.34] },
    ]);
    expect(btSeries(backtest(), 0, 'pai').series[1].values).toEqual([13, 15]);
  });

  it('styles each model by colour, dash and marker, all different', () => {
    const styles = MODELS.map((m) => MODEL_STYLE[m]);
    for (const key of ['color', 'marker'] as const) expect(new Set(styles.map((s) => s[key])).size).toBe(MODELS.length);
    expect(new Set(styles.map((s) => s.dash.join(','))).size).toBe(MODELS.length);
  });

  it('finds the best value in a column', () => {
    expect(bestIndex([0.2, 0.33, null])).toBe(1);
    expect(bestIndex([null, null])).toBe(-1);
    expect(bestIndex([])).toBe(-1);
    expect(bestIndex([NaN, 1])).toBe(1);
  });
});

describe('forecast translations', () => {
  it('has every fc./bt. key in the three languages', () => {
    const keys = Object.keys(DICTS.ru).filter((k) => k.startsWith('fc.') || k.startsWith('bt.'));
    expect(keys.length).toBeGreaterThan(80);
    for (const l of ['kk', 'en'] as const) for (const k of keys) expect(DICTS[l][k as keyof (typeof DICTS)['ru']], `${l}:${k}`).toBeTruthy();
    expect(DICTS.ru['nav.forecast']).toBe('Прогноз');
    expect(DICTS.kk['nav.forecast']).toBe('Болжам');
    expect(DICTS.en['nav.forecast']).toBe('Forecast');
    expect(NBSP).toBe('\u00a0');
  });
});
