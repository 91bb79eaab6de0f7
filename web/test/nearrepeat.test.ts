import { describe, expect, it } from 'vitest';
import type { KnoxCell, NearRepeat } from '../src/api';
import { toCsv } from '../src/export';
import { DICTS } from '../src/i18n';
import {
  CSV_HEADER,
  KNOX_DEFAULTS,
  cellTip,
  csvRows,
  duration,
  excessPercent,
  findings,
  legend,
  observedExpected,
  observedTotals,
  pText,
  ratioText,
  spaceLabel,
  spaceLabelCsv,
  timeLabel,
  timeLabelCsv,
} from '../src/knox';

const NBSP = '\u00a0';

function cell(observed: number, mean: number, p: number, notable = false): KnoxCell {
  return { observed, mean_expected: mean, min_expected: Math.floor(mean / 2), max_expected: Math.ceil(mean * 1.6), knox_ratio: mean > 0 ? Math.round((observed / mean) * 1e4) / 1e4 : null, p_value: p, notable };
}

/** The shape of the server's answer for the default settings (100 m × 3, 7 days × 3). */
function sample(): NearRepeat {
  const cells = [
    [cell(28, 15.5, 0.002, true), cell(20, 15.2, 0.08), cell(12, 15.1, 0.8), cell(900, 913, 0.7)],
    [cell(330, 200, 0.001, true), cell(260, 198, 0.001, true), cell(205, 199, 0.35), cell(11000, 11100, 0.9)],
    [cell(500, 410, 0.003, true), cell(415, 412, 0.45), cell(400, 409, 0.6), cell(22000, 22100, 0.8)],
    [cell(610, 605, 0.4), cell(600, 603, 0.55), cell(0, 0, 1), cell(33000, 33000, 0.5)],
    [cell(9000, 9100, 0.9), cell(9100, 9090, 0.4), cell(9050, 9080, 0.6), cell(353000, 352800, 0.3)],
  ];
  return {
    events: 970,
    pairs: cells.flat().reduce((a, c) => a + c.observed, 0),
    left_out: 0,
    params: { spatial_bandwidth_m: 100, spatial_bands: 3, temporal_bandwidth_days: 7, temporal_bands: 3, metric: 'manhattan', permutations: 999, seed: 1, significance: 0.05, meaningful_ratio: 1.2 },
    spatial_bands: [
      { kind: 'same', from_m: 0, to_m: 0 },
      { kind: 'within', from_m: 0, to_m: 100 },
      { kind: 'within', from_m: 100, to_m: 200 },
      { kind: 'within', from_m: 200, to_m: 300 },
      { kind: 'beyond', from_m: 300, to_m: null },
    ],
    temporal_bands: [
      { kind: 'within', from_days: 0, to_days: 7 },
      { kind: 'within', from_days: 7, to_days: 14 },
      { kind: 'within', from_days: 14, to_days: 21 },
      { kind: 'beyond', from_days: 21, to_days: null },
    ],
    cells,
    summary: {
      near_repeats: [
        { row: 1, up_to_column: 1 },
        { row: 2, up_to_column: 0 },
      ],
      strongest_near_repeat: { row: 1, column: 0, knox_ratio: 1.65 },
      repeat_up_to_column: 0,
      strongest_repeat: { column: 0, knox_ratio: 1.8065 },
      text: 'English text',
    },
  };
}

/** No pattern at all, bands of six hours, some incidents known only to the day. */
function hourlyNone(): NearRepeat {
  const nr = sample();
  nr.params = { ...nr.params, temporal_bandwidth_days: 0.25, metric: 'euclidean', permutations: 99, seed: 42 };
  nr.temporal_bands = [
    { kind: 'within', from_days: 0, to_days: 0.25 },
    { kind: 'within', from_days: 0.25, to_days: 0.5 },
    { kind: 'within', from_days: 0.5, to_days: 0.75 },
    { kind: 'beyond', from_days: 0.75, to_days: null },
  ];
  nr.left_out = 1234;
  nr.summary = { near_repeats: [], strongest_near_repeat: null, repeat_up_to_column: null, strongest_repeat: null, text: '' };
  return nr;
}

describe('near-repeat band labels', () => {
  const nr = sample();
  it('labels distance bands in each language', () => {
    expect(nr.spatial_bands.map((b) => spaceLabel(b, 'ru'))).toEqual(['То же место', '0–100 м', '100–200 м', '200–300 м', '≥ 300 м']);
    expect(nr.spatial_bands.map((b) => spaceLabel(b, 'en'))).toEqual(['Same location', '0–100 m', '100–200 m', '200–300 m', '≥ 300 m']);
    expect(spaceLabel(nr.spatial_bands[0], 'kk')).toBe('Сол орын');
    expect(spaceLabel({ kind: 'within', from_m: 1000, to_m: 1500 }, 'ru')).toBe(`1${NBSP}000–1${NBSP}500 м`);
    expect(spaceLabel({ kind: 'within', from_m: 1000, to_m: 1500 }, 'en')).toBe('1,000–1,500 m');
    expect(spaceLabel({ kind: 'within', from_m: 0, to_m: 12.5 }, 'ru')).toBe('0–12,5 м');
  });

  it('labels time bands in days, and in hours below a day', () => {
    expect(nr.temporal_bands.map((b) => timeLabel(b, false, 'ru'))).toEqual(['0–7 дн.', '7–14 дн.', '14–21 дн.', '≥ 21 дн.']);
    expect(nr.temporal_bands.map((b) => timeLabel(b, false, 'kk'))).toEqual(['0–7 күн', '7–14 күн', '14–21 күн', '≥ 21 күн']);
    expect(nr.temporal_bands.map((b) => timeLabel(b, false, 'en'))).toEqual(['0–7 days', '7–14 days', '14–21 days', '≥ 21 days']);
    const h = hourlyNone();
    expect(h.temporal_bands.map((b) => timeLabel(b, true, 'ru'))).toEqual(['0–6 ч', '6–12 ч', '12–18 ч', '≥ 18 ч']);
    expect(h.temporal_bands.map((b) => timeLabel(b, true, 'en'))).toEqual(['0–6 h', '6–12 h', '12–18 h', '≥ 18 h']);
    expect(timeLabel({ kind: 'within', from_days: 0.1, to_days: 0.2 }, true, 'en')).toBe('2.4–4.8 h');
    expect(timeLabel({ kind: 'within', from_days: 0, to_days: 1.5 }, false, 'ru')).toBe('0–1,5 дн.');
  });

  it('says how long, with "day" for one in English', () => {
    expect(duration(1, false, 'en')).toBe('1 day');
    expect(duration(14, false, 'en')).toBe('14 days');
    expect(duration(14, false, 'ru')).toBe('14 дн.');
    expect(duration(14, false, 'kk')).toBe('14 күн');
    expect(duration(0.5, true, 'kk')).toBe('12 сағ.');
  });
});

describe('near-repeat cell texts', () => {
  it('formats ratios, p-values and counts in the locale', () => {
    const c = sample().cells[0][0];
    expect(ratioText(c.knox_ratio, 'ru')).toBe('1,81');
    expect(ratioText(c.knox_ratio, 'en')).toBe('1.81');
    expect(ratioText(null, 'en')).toBe('—');
    expect(pText(0.002, 'ru')).toBe('0,002');
    expect(pText(0.0001, 'en')).toBe('0.0001');
    expect(pText(1, 'en')).toBe('1.000');
    expect(observedExpected(c, 'ru')).toBe('28 / 15,5');
    expect(observedExpected({ ...c, observed: 11000, mean_expected: 11100.456 }, 'ru')).toBe(`11${NBSP}000 / 11${NBSP}100,5`);
    expect(cellTip(c, 'en')).toBe('Observed pairs: 28; mean expected: 15.5 (from 7 to 25 over the permutations); Knox ratio: 1.81; p = 0.002');
    expect(excessPercent(1.65)).toBe(65);
    expect(excessPercent(1.2)).toBe(20);
  });
});

describe('near-repeat findings', () => {
  it('describes near repeats, the strongest zone and repeats in Russian', () => {
    expect(findings(sample(), 'ru')).toEqual([
      'Найдены значимые и существенные близкие повторы: после происшествия поблизости какое-то время происходит больше происшествий, чем при случайном совпадении.',
      'На расстоянии 0–100 м от происшествия риск повышен в течение 14 дн. после него.',
      'На расстоянии 100–200 м от происшествия риск повышен в течение 7 дн. после него.',
      'Сильнее всего эффект на расстоянии 0–100 м в первые 7 дн.: примерно на 65 % больше пар, чем при случайном совпадении (отношение Нокса 1,65).',
      'Повторы в том же месте: риск повышен в течение 7 дн. после происшествия (максимум примерно на 81 % больше ожидаемого).',
      `Происшествий: 970, пар: 450${NBSP}430, перестановок: 999 (зерно 1).`,
      'Интервалы расстояния: 3 по 100 м; интервалы времени: 3 по 7 дн.; расстояние: Манхэттенское (по кварталам).',
    ]);
  });

  it('describes them in Kazakh', () => {
    const f = findings(sample(), 'kk');
    expect(f[0]).toBe('Мәнді әрі елеулі жақын қайталанулар табылды: оқиғадан кейін біраз уақыт бойы жақын жерде кездейсоқтықтан гөрі көп оқиға болады.');
    expect(f[1]).toBe('Оқиғадан 0–100 м қашықтықта тәуекел одан кейін 14 күн бойы жоғары болады.');
    expect(f[3]).toBe('Әсер 0–100 м қашықтықта алғашқы 7 күн ішінде ең күшті: кездейсоқтықтан гөрі шамамен 65 % көп жұп (Нокс қатынасы 1,65).');
    expect(f[4]).toBe('Сол орында қайталану: оқиғадан кейін 7 күн бойы тәуекел жоғары (ең көбі күтілгеннен шамамен 81 % көп).');
    expect(f[5]).toBe(`Оқиғалар: 970, жұптар: 450${NBSP}430, ауыстырулар: 999 (seed 1).`);
  });

  it('describes them in English', () => {
    expect(findings(sample(), 'en')).toEqual([
      'A significant and meaningful near-repeat pattern was found: after an incident, more incidents than chance would give follow close by for a while.',
      'At 0–100 m from an incident, the risk stays raised for up to 14 days after it.',
      'At 100–200 m from an incident, the risk stays raised for up to 7 days after it.',
      'The effect is strongest at 0–100 m within 7 days: about 65 % more pairs than chance would give (Knox ratio 1.65).',
      'Repeats at the same location: the risk stays raised for up to 7 days after an incident (at most about 81 % more than expected).',
      'Incidents: 970, pairs: 450,430, permutations: 999 (seed 1).',
      'Distance bands: 3 of 100 m; time bands: 3 of 7 days; distance: Manhattan (along blocks).',
    ]);
  });

  it('says when nothing was found, in hours, with the incidents left out', () => {
    const nr = hourlyNone();
    expect(findings(nr, 'en')).toEqual([
      'No significant and meaningful near-repeat pattern was found.',
      'No significant and meaningful repeat pattern at the same location was found.',
      'Incidents: 970, pairs: 450,430, permutations: 99 (seed 42).',
      'Distance bands: 3 of 100 m; time bands: 3 of 6 h; distance: Euclidean (straight line).',
      'Left out: 1,234 incidents — bands shorter than a day need the hour, and only the day or less is known for them.',
    ]);
    const ru = findings(nr, 'ru');
    expect(ru[0]).toBe('Значимых и существенных близких повторов не найдено.');
    expect(ru[1]).toBe('Значимых и существенных повторов в том же месте не найдено.');
    expect(ru[4]).toContain(`1${NBSP}234`);
    const kk = findings(nr, 'kk');
    expect(kk[0]).toBe('Мәнді әрі елеулі жақын қайталанулар табылмады.');
    expect(kk[3]).toContain('6 сағ.');
    // Day bands name the other reason.
    expect(findings({ ...sample(), left_out: 5 }, 'en').at(-1)).toBe('Left out: 5 incidents whose time is not known to the day (only the month or a longer window).');
  });

  it('never shows the English server text in Russian or Kazakh, nor Latin words', () => {
    for (const l of ['ru', 'kk'] as const) {
      for (const s of [...findings(sample(), l), ...findings(hourlyNone(), l), ...legend(sample(), l)]) {
        expect(s).not.toContain('English text');
        expect(s.replace(/Knox|Near Repeat Calculator|seed|p ≤/g, ''), s).not.toMatch(/[a-z]{3,}/i);
      }
    }
  });

  it('explains the highlighting from the parameters', () => {
    expect(legend(sample(), 'en')[1]).toBe('★ and a coloured background: significant (p ≤ 0.05) and meaningful (Knox ratio ≥ 1.2, that is at least 20 % more pairs than expected).');
    expect(legend(sample(), 'ru')[1]).toContain('p ≤ 0,05');
  });
});

describe('near-repeat CSV', () => {
  it('labels bands as the server CSV does', () => {
    const nr = sample();
    expect(nr.spatial_bands.map(spaceLabelCsv)).toEqual(['same location', '[0, 100) m', '[100, 200) m', '[200, 300) m', '≥ 300 m']);
    expect(nr.temporal_bands.map(timeLabelCsv)).toEqual(['[0, 7) days', '[7, 14) days', '[14, 21) days', '≥ 21 days']);
    expect(timeLabelCsv({ kind: 'within', from_days: 0.25, to_days: 0.5 })).toBe('[0.25, 0.5) days');
  });

  it('writes one line per cell, rows first', () => {
    const nr = sample();
    const rows = csvRows(nr);
    expect(rows.length).toBe(5 * 4);
    expect(rows[0]).toEqual([0, 0, 'same location', '[0, 7) days', 28, 15.5, 7, 25, 1.8065, 0.002, true]);
    expect(rows[5].slice(0, 4)).toEqual([1, 1, '[0, 100) m', '[7, 14) days']);
    expect(rows[19].slice(0, 4)).toEqual([4, 3, '≥ 300 m', '≥ 21 days']);
    for (const r of rows) expect(r.length).toBe(CSV_HEADER.length);
    const text = toCsv(CSV_HEADER, rows).split('\r\n');
    expect(text[0]).toBe('row,column,space,time,observed,mean_expected,min_expected,max_expected,knox_ratio,p_value,notable');
    expect(text[1]).toBe('0,0,same location,[0, 7) days,28,15.5,7,25,1.8065,0.002,true'.replace('[0, 7) days', '"[0, 7) days"'));
    // Nothing expected: the ratio is empty.
    expect(text[1 + 3 * 4 + 2]).toBe('3,2,"[200, 300) m","[14, 21) days",0,0,0,0,,1,false');
  });

  it('adds up the observed pairs to all pairs', () => {
    const nr = sample();
    const tot = observedTotals(nr);
    expect(tot.all).toBe(nr.pairs);
    expect(tot.rows.length).toBe(5);
    expect(tot.columns.length).toBe(4);
    expect(tot.rows[0]).toBe(28 + 20 + 12 + 900);
    expect(tot.columns.reduce((a, b) => a + b, 0)).toBe(nr.pairs);
  });
});

describe('near-repeat settings and words', () => {
  it("starts from the Calculator's settings", () => {
    expect(KNOX_DEFAULTS).toEqual({ spatial_bandwidth: 100, spatial_bands: 3, temporal_bandwidth: 7, temporal_bands: 3, metric: 'manhattan', permutations: 999, seed: 1 });
  });

  it('has the page in all three languages', () => {
    expect(DICTS.ru['nav.nearRepeat']).toBe('Близкие повторы');
    expect(DICTS.kk['nav.nearRepeat']).toBe('Жақын қайталанулар');
    expect(DICTS.en['nav.nearRepeat']).toBe('Near repeats');
  });
});
