import { describe, expect, it } from 'vitest';
import type { RiskFactor, RiskTerrain } from '../src/api';
import { toCsv } from '../src/export';
import { DICTS, hasKey, type Lang } from '../src/i18n';
import { FACILITY_CATEGORIES } from '../src/coordination';
import {
  FACTORS_CSV_HEADER,
  LOWER_COLOR,
  NONE_COLOR,
  OSM_FACTORS,
  REGISTER_FACTORS,
  chosenFactors,
  emptyReason,
  factorName,
  factorsCsvRows,
  featureList,
  fitSentences,
  fmtRisk,
  fmtRr,
  forestScale,
  influenceHelp,
  influenceText,
  intervalText,
  maxRisk,
  modelLines,
  notKept,
  pValueText,
  pctText,
  riskClasses,
  riskColor,
  riskLegend,
  timesText,
} from '../src/riskterrain';

/** Locale output uses (narrow) no-break spaces: compare with plain spaces. */
const sp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const LANGS: Lang[] = ['ru', 'kk', 'en'];

function factor(over: Partial<RiskFactor>): RiskFactor {
  return { factor: 'bar', operationalisation: 'proximity', bandwidth_m: 100, coefficient: 0.65, relative_risk: 1.92, low: 1.62, high: 2.28, p_value: 0, cells: 291, ...over };
}

/** The shape of the server's answer for Helsinki at 50 m (abridged). */
function sample(over: Partial<RiskTerrain> = {}): RiskTerrain {
  const factors = [
    factor({ factor: 'fast_food', bandwidth_m: 300, relative_risk: 2.5536, low: 1.8401, high: 3.5436, cells: 556 }),
    factor({ factor: 'bank', operationalisation: 'density', bandwidth_m: 200, relative_risk: 1.8264, low: 1.3853, high: 2.408, p_value: 0.0004, cells: 46 }),
    factor({ factor: 'college', bandwidth_m: 300, relative_risk: 0.7089, low: 0.5722, high: 0.8784, p_value: 0.0017, cells: 189, coefficient: -0.344 }),
  ];
  return {
    territory: 'Helsinki',
    cell_m: 50,
    cells: 714,
    incidents: 3974,
    incidents_outside: 26,
    factors_tested: [
      { factor: 'fast_food', features: 54 },
      { factor: 'bank', features: 21 },
      { factor: 'college', features: 7 },
      { factor: 'atm', features: 18 },
    ],
    factors_skipped: [{ factor: 'gambling', features: 2 }],
    variables: 138,
    family: 'negative_binomial',
    theta: 1.665,
    baseline: 0.3193,
    deviance: 2521.5,
    null_deviance: 6674.9,
    deviance_explained: 0.6222,
    bic: 3295.9,
    lambda: 0.1476,
    cv_deviance_per_cell: 3.4319,
    confidence: 0.95,
    factors,
    map: {
      type: 'FeatureCollection',
      features: [4.3, 1, 0.7089, 2.55].map((risk, i) => ({
        type: 'Feature' as const,
        geometry: { type: 'Polygon' as const, coordinates: [[[24.9 + i * 0.001, 60.16], [24.901 + i * 0.001, 60.16], [24.901 + i * 0.001, 60.161], [24.9 + i * 0.001, 60.16]]] },
        properties: { risk, count: i },
      })),
    },
    ...over,
  };
}

describe('factor names', () => {
  it('translates every known OpenStreetMap category and register in the three languages', () => {
    for (const code of [...OSM_FACTORS, ...REGISTER_FACTORS]) {
      expect(hasKey(`rtf.${code}`), code).toBe(true);
      for (const l of LANGS) expect(factorName(code, l), `${l}:${code}`).not.toBe(code);
    }
    expect(factorName('bar', 'ru')).toBe('Бары');
    expect(factorName('transit_stop', 'kk')).toBe('Қоғамдық көлік аялдамалары');
    expect(factorName('transit_stop', 'en')).toBe('Transit stops');
    expect(factorName('stationary', 'en')).toBe('Stationary posts (register)');
  });

  it('names facilities by their category, and shows unknown names as they are', () => {
    for (const c of FACILITY_CATEGORIES) for (const l of LANGS) expect(factorName(`facility_${c}`, l)).not.toBe(`facility_${c}`);
    expect(factorName('facility_railway_station', 'ru')).toBe('Железнодорожный вокзал (реестр объектов)');
    expect(factorName('facility_airport', 'kk')).toBe('Әуежай (объектілер тізілімі)');
    expect(factorName('facility_hotel', 'en')).toBe('Hotel (facility register)');
    expect(factorName('facility_spaceport', 'en')).toBe('facility_spaceport');
    expect(factorName('ice_cream', 'ru')).toBe('ice_cream');
  });

  it('uses proper Kazakh letters', () => {
    const kk = OSM_FACTORS.map((c) => factorName(c, 'kk')).join(' ');
    expect(kk).toMatch(/[әғқңөұүһі]/);
    expect(DICTS.kk['nav.riskTerrain']).toBe('Тәуекел факторлары');
    expect(DICTS.kk['nav.evaluation']).toBe('Шаралар тиімділігі');
  });
});

describe('influences and numbers', () => {
  it('says where a factor acts', () => {
    expect(sp(influenceText(factor({ bandwidth_m: 100 }), 'ru'))).toBe('в радиусе 100 м');
    expect(sp(influenceText(factor({ operationalisation: 'density', bandwidth_m: 200 }), 'ru'))).toBe('высокая плотность в радиусе 200 м');
    expect(sp(influenceText(factor({ bandwidth_m: 300 }), 'kk'))).toBe('300 м радиуста');
    expect(influenceText(factor({ operationalisation: 'density', bandwidth_m: 1000 }), 'en')).toBe('high density within 1,000 m');
    for (const l of LANGS) expect(influenceHelp(factor({ operationalisation: 'density' }), l)).toMatch(/100/);
  });

  it('formats relative risks, intervals, p-values and percentages', () => {
    expect(fmtRr(1.924, 'ru')).toBe('1,92');
    expect(fmtRr(1.924, 'en')).toBe('1.92');
    expect(fmtRr(NaN, 'en')).toBe('—');
    expect(intervalText(1.6213, 2.2831, 'ru')).toBe('1,62–2,28');
    expect(pValueText(0, 'ru')).toBe('< 0,001');
    expect(pValueText(0.0021, 'en')).toBe('0.002');
    expect(pValueText(0.0005, 'en')).toBe('< 0.001');
    expect(sp(pctText(0.6222, 'ru'))).toBe('62 %');
    expect(pctText(0.6222, 'en')).toBe('62%');
    expect(fmtRisk(4.3, 'ru')).toBe('4,30');
    expect(fmtRisk(41.92, 'en')).toBe('41.9');
    expect(fmtRisk(204.65, 'en')).toBe('205');
  });

  it('writes "times" with the Russian forms', () => {
    expect(timesText(4.3, 'ru')).toBe('в 4,3 раза');
    expect(timesText(12, 'ru')).toBe('в 12 раз');
    expect(timesText(22.2, 'ru')).toBe('в 22 раза');
    expect(timesText(21, 'ru')).toBe('в 21 раз');
    expect(timesText(205, 'ru')).toBe('в 205 раз');
    expect(timesText(4.3, 'kk')).toBe('4,3 есе');
    expect(timesText(4.3, 'en')).toBe('4.3 times');
  });
});

describe('the fit in words', () => {
  it('explains the deviance, the riskiest cells, the strongest and the protective conditions', () => {
    const d = sample();
    const ru = fitSentences(d, 'ru').map(sp);
    expect(ru[0]).toBe('Модель объясняет 62 % девиансы — различий в числе происшествий между ячейками.');
    expect(ru[1]).toBe('В самых опасных ячейках, где сходится больше всего условий риска, риск в 4,3 раза выше, чем в ячейках без этих условий.');
    expect(ru[2]).toBe('Сильнее всего связано условие «Заведения быстрого питания» (в радиусе 300 м): там риск в 2,6 раза выше.');
    expect(ru[3]).toBe('Рядом с этими условиями происшествий меньше (риск ниже 1): Колледжи (в радиусе 300 м).');
    expect(ru[4]).toBe('Ожидаемое число происшествий за период в ячейке без этих условий: 0,319.');
    const en = fitSentences(d, 'en');
    expect(en[0]).toBe('The model explains 62% of the deviance — the differences in incident counts between cells.');
    expect(en[1]).toBe('The riskiest cells, where the most risk conditions meet, are 4.3 times riskier than cells with none of these conditions.');
    const kk = fitSentences(d, 'kk').map(sp);
    expect(kk[1]).toContain('4,3 есе жоғары');
  });

  it('takes the riskiest cell from the map, or the product of the risk-raising factors without one', () => {
    expect(maxRisk(sample())).toBe(4.3);
    const noMap = sample({ map: { type: 'FeatureCollection', features: [] } });
    expect(maxRisk(noMap)).toBeCloseTo(2.5536 * 1.8264, 9);
  });

  it('says clearly when there are no factors, and why', () => {
    expect(emptyReason(sample())).toBeNull();
    const none = sample({ factors: [], factors_tested: [], factors_skipped: [] });
    expect(emptyReason(none, 'ru')).toMatch(/нет условий для проверки/);
    expect(emptyReason(none, 'en')).toMatch(/OpenStreetMap/);
    expect(emptyReason(sample({ factors: [], factors_tested: [], factors_skipped: [{ factor: 'camera', features: 2 }] }), 'en')).toBe('No condition has at least 3 places in the study area: there is nothing to test.');
    expect(emptyReason(sample({ factors: [] }), 'kk')).toMatch(/\(4\)/);
    // Without factors the fit speaks only of the baseline.
    expect(fitSentences(sample({ factors: [] }), 'en')).toEqual(['Expected incidents in the period in a cell with none of these conditions: 0.319.']);
  });

  it('lists the model, the data and what was tested', () => {
    const lines = modelLines(sample(), 'en');
    expect(lines[0]).toBe('Negative binomial regression (θ = 1.67).');
    expect(lines[1]).toBe('Cells of 50 m in the study area: 714; incidents in them: 3,974.');
    expect(lines[2]).toBe('Incidents outside the study area: 26.');
    expect(lines[3]).toBe('Conditions tested: 4 (138 variables); kept in the model: 3.');
    expect(modelLines(sample({ family: 'poisson', theta: null, incidents_outside: 0 }), 'ru')[0]).toBe('Регрессия Пуассона.');
    expect(notKept(sample())).toEqual(['atm']);
    expect(featureList(sample().factors_tested, 'en')).toBe('ATMs (18), Banks (21), Colleges (7), Fast food outlets (54)');
  });
});

describe('the factor choice', () => {
  const known = ['bar', 'pub', 'shop'];
  it('asks for all (no list) when everything is ticked', () => {
    expect(chosenFactors(known, known, '')).toEqual([]);
    expect(chosenFactors([], [], '')).toEqual([]);
  });
  it('asks for the ticked ones and the typed ones, sorted', () => {
    expect(chosenFactors(known, ['bar'], '')).toEqual(['bar']);
    expect(chosenFactors(known, ['bar'], 'transit_stop, pub')).toEqual(['bar', 'pub', 'transit_stop']);
    expect(chosenFactors(known, known, 'camera')).toEqual(['bar', 'camera', 'pub', 'shop']);
    expect(chosenFactors([], [], ' transit_stop; bar ')).toEqual(['bar', 'transit_stop']);
  });
  it('keeps the same request after a run on typed factors (they become the known ones, all ticked)', () => {
    const first = chosenFactors([], [], 'bar, pub, fast_food');
    const known2 = ['bar', 'fast_food', 'pub'];
    expect(chosenFactors(known2, known2, 'bar, pub, fast_food')).toEqual(first);
  });
});

describe('the map', () => {
  it('classes the risks above 1, greys 1 and marks below 1', () => {
    const c = riskClasses([1, 1, 1.5, 2, 3, 4, 8, 0.7]);
    expect(c.breaks.length).toBeGreaterThan(1);
    expect(c.breaks.length).toBe(c.colors.length);
    expect(riskColor(1, c)).toBe(NONE_COLOR);
    expect(riskColor(0.7, c)).toBe(LOWER_COLOR);
    expect(riskColor(8, c)).toBe(c.colors[c.colors.length - 1]);
    expect(riskColor(1.5, c)).toBe(c.colors[0]);
    const legend = riskLegend(c, true, 'en');
    expect(legend[0].color).toBe(c.colors[c.colors.length - 1]);
    expect(legend[legend.length - 2].label).toBe('1 — no risk condition');
    expect(legend[legend.length - 1].label).toBe('below 1 — protective conditions');
    expect(riskLegend(riskClasses([1, 1]), false, 'ru')).toEqual([{ color: NONE_COLOR, label: '1 — нет условий риска' }]);
  });

  it('scales the forest plot on a log axis through 1', () => {
    const s = forestScale([{ low: 1.62, high: 2.28 }, { low: 0.57, high: 0.88 }, { low: 1.84, high: 3.54 }]);
    expect(s.min).toBe(0.5);
    expect(s.max).toBe(4);
    expect(s.ticks).toEqual([0.5, 1, 2, 4]);
    const up = forestScale([{ low: 1.1, high: 1.3 }]);
    expect(up.min).toBe(0.5);
    expect(up.max).toBe(2);
  });
});

describe('CSV of the factor table', () => {
  it('has a row per factor with the code, the translated name and the figures', () => {
    const rows = factorsCsvRows(sample(), 'ru');
    expect(rows.length).toBe(3);
    expect(rows[0]).toEqual(['fast_food', 'Заведения быстрого питания', 'proximity', 300, 2.5536, 1.8401, 3.5436, 0, 0.65, 556]);
    const csv = toCsv(FACTORS_CSV_HEADER, rows);
    expect(csv.split('\r\n')[0]).toBe('factor,name,operationalisation,bandwidth_m,relative_risk,low,high,p_value,coefficient,cells');
    expect(csv.split('\r\n')[2]).toBe('bank,Банки,density,200,1.8264,1.3853,2.408,0.0004,0.65,46');
  });
});
