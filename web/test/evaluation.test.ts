import { describe, expect, it } from 'vitest';
import type { DidEstimate, Evaluation, WdqResult } from '../src/api';
import { toCsv } from '../src/export';
import { hasKey, type Lang } from '../src/i18n';
import {
  COUNTS_CSV_HEADER,
  DISPLACEMENTS,
  KINDS,
  SERIES_CSV_HEADER,
  areaFeatures,
  changeSize,
  changeText,
  circleRing,
  countRows,
  countWindows,
  countsCsvRows,
  displacementText,
  haversine,
  interventionBody,
  interventionProblems,
  kindLabel,
  lastDay,
  pPhrase,
  periodLabel,
  seriesCsvRows,
  seriesValues,
  signedDec,
  verdictSentence,
  verdictTitle,
  wdqSentences,
} from '../src/evaluation';

const sp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const LANGS: Lang[] = ['ru', 'kk', 'en'];
const MINUS = '\u2212';

function est(over: Partial<DidEstimate>): DidEstimate {
  return { rate_ratio: 0.62, low: 0.48, high: 0.8, p_value: 0.001, dispersion: 1.1, periods_before: 52, periods_after: 25, verdict: 'reduction', sentence: 'English', ...over };
}

/** The server's answer for the Toronto example (Cameras Yonge-Dundas, 2019-06-01, 200 m). */
function sample(over: Partial<Evaluation> = {}): Evaluation {
  return {
    intervention: { name: 'Cameras Yonge-Dundas', kind: 'camera_cluster', starts_on: '2019-06-01', lat: 43.6561, lon: -79.3802, radius_m: 200, assignment_id: null },
    areas: { target_radius_m: 200, buffer_outer_m: 600, control_outer_m: 2000 },
    window: { before_from: '2018-06-01', after_to: '2019-11-28', after_days: 180, wdq_before_from: '2018-12-03', period: 'week' },
    counts: { before: { target: 112, buffer: 447, control: 2191 }, after: { target: 149, buffer: 520, control: 2562 } },
    wdq: { success: 0.007, buffer: -0.001, wdq: null, total_net_effect: -15.345, displacement: 'no_success', sentence: 'English' },
    target: est({ rate_ratio: 1.0666, low: 0.8628, high: 1.3185, p_value: 0.551, verdict: 'no_evidence' }),
    buffer: est({ rate_ratio: 1.0436, low: 0.9253, high: 1.177, p_value: 0.4868, verdict: 'no_evidence' }),
    confidence: 0.95,
    series: { periods: ['2019-05-18', '2019-05-25', '2019-06-01', '2019-06-08'], first_after: 2, target: [2, 4, 6, 0], buffer: [10, 10, 12, 8], control: [90, 110, 100, 100] },
    ...over,
  };
}

describe('verdicts in three languages', () => {
  it('writes a reduction with its interval and p-value', () => {
    expect(sp(verdictSentence(est({}), 'target', 0.95, 'ru'))).toBe(
      `В целевой зоне число происшествий снизилось на 38 % относительно контрольной зоны (95 % интервал: от ${MINUS}52 % до ${MINUS}20 %; p = 0,001).`,
    );
    expect(verdictSentence(est({}), 'target', 0.95, 'en')).toBe(`In the target area, incidents fell by 38% relative to the control area (95% interval: ${MINUS}52% to ${MINUS}20%; p = 0.001).`);
    expect(sp(verdictSentence(est({}), 'target', 0.95, 'kk'))).toMatch(/^Нысаналы аймақта оқиғалар саны бақылау аймағымен салыстырғанда 38 ?% азайды/);
  });

  it('writes an increase in the buffer', () => {
    const e = est({ rate_ratio: 1.25, low: 1.05, high: 1.49, p_value: 0.012, verdict: 'increase' });
    expect(sp(verdictSentence(e, 'buffer', 0.95, 'ru'))).toBe('В буферной зоне число происшествий выросло на 25 % относительно контрольной зоны (95 % интервал: от +5 % до +49 %; p = 0,012).');
    expect(verdictSentence(e, 'buffer', 0.9, 'en')).toBe('In the buffer zone, incidents rose by 25% relative to the control area (90% interval: +5% to +49%; p = 0.012).');
  });

  it('says when the data cannot tell an effect from chance', () => {
    const e = sample().target;
    expect(sp(verdictSentence(e, 'target', 0.95, 'ru'))).toBe(
      `В целевой зоне нет явного изменения относительно контрольной зоны: +7 % (95 % интервал: от ${MINUS}14 % до +32 %; p = 0,551); по этим данным нельзя отличить эффект от случайности.`,
    );
    expect(verdictSentence(e, 'target', 0.95, 'en')).toBe(
      `In the target area, there is no clear change relative to the control area: +7% (95% interval: ${MINUS}14% to +32%; p = 0.551); the data cannot tell an effect from chance.`,
    );
    expect(verdictSentence(e, 'target', 0.95, 'kk')).toMatch(/кездейсоқтықтан ажырату мүмкін емес\.$/);
  });

  it('says when an area cannot be assessed', () => {
    const e: DidEstimate = { verdict: 'not_estimable', sentence: 'The buffer cannot be assessed: no incidents.' };
    expect(verdictSentence(e, 'buffer', 0.95, 'ru')).toBe('В буферной зоне изменение оценить невозможно: данных недостаточно.');
    expect(verdictSentence(e, 'target', 0.95, 'en')).toBe('In the target area, the change cannot be estimated: there are too few data.');
    for (const l of LANGS) for (const v of ['reduction', 'increase', 'no_evidence', 'not_estimable']) expect(verdictTitle(v, l)).not.toBe(v);
  });

  it('formats changes and p-values', () => {
    expect(sp(changeText(0.62, 'ru'))).toBe(`${MINUS}38 %`);
    expect(changeText(1.07, 'en')).toBe('+7%');
    expect(changeText(1, 'en')).toBe('0%');
    expect(changeText(0.995, 'en')).toBe(`${MINUS}0.5%`);
    expect(changeSize(0.62, 'en')).toBe('38%');
    expect(pPhrase(0, 'ru')).toBe('p < 0,001');
    expect(pPhrase(0.0496, 'en')).toBe('p = 0.050');
    expect(signedDec(-15.345, 1, 'ru')).toBe(`${MINUS}15,3`);
    expect(signedDec(0.007, 3, 'en')).toBe('+0.007');
    expect(signedDec(null, 2, 'en')).toBe('—');
  });
});

describe('the WDQ in words', () => {
  it('explains every displacement code in every language', () => {
    for (const code of DISPLACEMENTS) {
      expect(hasKey(`ev.d.${code}`), code).toBe(true);
      for (const l of LANGS) expect(displacementText(code, l)).not.toBe(code);
    }
    expect(displacementText('diffusion', 'en')).toMatch(/benefit spread/);
    expect(displacementText('displacement_exceeds_gain', 'ru')).toMatch(/ухудшила/);
    expect(displacementText('something_new', 'en')).toBe('something_new');
  });

  it('adds the net effect, fewer or more incidents', () => {
    const w: WdqResult = { success: -0.1, buffer: 0.025, wdq: -0.25, total_net_effect: 30, displacement: 'displacement_less_than_gain', sentence: '' };
    expect(wdqSentences(w, 'en')).toEqual([
      'Some incidents moved into the buffer zone, but fewer than the target area gained: a net benefit.',
      'Net effect (target and buffer together, adjusted for the control area): 30.0 fewer incidents than expected without the measure.',
    ]);
    expect(wdqSentences(sample().wdq, 'ru')[1]).toBe('Чистый эффект (целевая и буферная зоны вместе, с поправкой на контрольную): на 15,3 происшествия больше, чем ожидалось бы без меры.');
    expect(wdqSentences({ displacement: 'not_estimable', sentence: '' }, 'kk')).toHaveLength(1);
  });
});

describe('counts and windows', () => {
  it('gives the equal windows of the counts (the after window ends the day before after_to)', () => {
    expect(countWindows(sample())).toEqual({ before: ['2018-12-03', '2019-05-31'], after: ['2019-06-01', '2019-11-27'] });
    expect(lastDay('2020-03-01')).toBe('2020-02-29');
  });

  it('compares each area before and after, and with the control', () => {
    const rows = countRows(sample());
    expect(rows.map((r) => r.area)).toEqual(['target', 'buffer', 'control']);
    expect(rows[0]).toMatchObject({ from: 0, to: 200, before: 112, after: 149 });
    expect(rows[0].ratio).toBeCloseTo(149 / 112, 9);
    expect(rows[0].relative).toBeCloseTo(149 / 112 / (2562 / 2191), 9);
    expect(rows[2].relative).toBeNull();
    const none = countRows(sample({ counts: { before: { target: 0, buffer: 1, control: 0 }, after: { target: 3, buffer: 1, control: 2 } } }));
    expect(none[0].ratio).toBeNull();
    expect(none[1].relative).toBeNull();
    const csv = toCsv(COUNTS_CSV_HEADER, countsCsvRows(sample())).split('\r\n');
    expect(csv[0]).toBe('area,from_m,to_m,before,after,change,change_relative_to_control');
    expect(csv[1]).toBe('target,0,200,112,149,0.3304,0.1377');
  });
});

describe('the series', () => {
  it('gives counts, or an index of the mean before the start', () => {
    const s = sample().series;
    expect(seriesValues(s, 'count').target).toEqual([2, 4, 6, 0]);
    expect(seriesValues(s, 'index').target).toEqual([66.7, 133.3, 200, 0]);
    expect(seriesValues(s, 'index').control).toEqual([90, 110, 100, 100]);
    expect(seriesValues({ ...s, target: [0, 0, 3, 1] }, 'index').target).toEqual([null, null, null, null]);
    const csv = toCsv(SERIES_CSV_HEADER, seriesCsvRows(s)).split('\r\n');
    expect(csv[0]).toBe('period,after_start,target,buffer,control');
    expect(csv[3]).toBe('2019-06-01,true,6,12,100');
  });

  it('labels weeks and months', () => {
    expect(periodLabel('2019-06-01', 'week', 'ru')).toBe('01.06.19');
    expect(periodLabel('2019-06-01', 'week', 'en')).toBe('01/06/19');
    expect(periodLabel('2019-06', 'month', 'en')).toBe('Jun 2019');
    expect(periodLabel('2019-06', 'month', 'kk')).toMatch(/2019/);
    expect(periodLabel('week 3', 'week', 'en')).toBe('week 3');
  });
});

describe('rings on the map', () => {
  it('draws circles at the radius', () => {
    const ring = circleRing(43.6561, -79.3802, 200, 32);
    expect(ring.length).toBe(33);
    expect(ring[0]).toEqual(ring[32]);
    for (const [lon, lat] of ring) expect(Math.abs(haversine(43.6561, -79.3802, lat, lon) - 200)).toBeLessThan(0.5);
  });

  it('gives a disc and two annuli with holes', () => {
    const f = areaFeatures(43.6561, -79.3802, sample().areas);
    expect(f.map((x) => x.properties.area)).toEqual(['target', 'buffer', 'control']);
    expect(f[0].geometry.coordinates.length).toBe(1);
    expect(f[1].geometry.coordinates.length).toBe(2);
    const [outer, hole] = f[2].geometry.coordinates;
    expect(Math.round(haversine(43.6561, -79.3802, outer[5][1], outer[5][0]))).toBe(2000);
    expect(Math.round(haversine(43.6561, -79.3802, hole[5][1], hole[5][0]))).toBe(600);
    // No buffer: target and control only.
    expect(areaFeatures(0, 0, { target_radius_m: 100, buffer_outer_m: 100, control_outer_m: 1000 }).map((x) => x.properties.area)).toEqual(['target', 'control']);
  });
});

describe('the form of a new measure', () => {
  const ok = { name: ' Cameras ', kind: 'camera_cluster', starts_on: '2019-06-01', lat: '43.6561', lon: '-79.3802', radius_m: '200', assignment_id: '', note: ' n ' };
  it('accepts a complete measure and builds the body', () => {
    expect(interventionProblems(ok)).toEqual([]);
    expect(interventionBody(ok)).toEqual({ name: 'Cameras', kind: 'camera_cluster', starts_on: '2019-06-01', lat: 43.6561, lon: -79.3802, radius_m: 200, assignment_id: null, note: 'n' });
    expect(interventionBody({ ...ok, assignment_id: '12' }).assignment_id).toBe(12);
  });
  it('names what is missing or wrong', () => {
    expect(interventionProblems({ ...ok, name: ' ', lat: '' })).toEqual(['ev.f.needName', 'ev.f.needCentre']);
    expect(interventionProblems({ ...ok, starts_on: '2019-02-30' })).toEqual(['ev.f.needStart']);
    expect(interventionProblems({ ...ok, radius_m: '5' })).toEqual(['ev.f.needRadius']);
    expect(interventionProblems({ ...ok, lon: '200' })).toEqual(['ev.f.needCentre']);
    expect(interventionProblems({ ...ok, assignment_id: '1.5' })).toEqual(['ev.f.needAssignment']);
    expect(interventionProblems({ ...ok, kind: 'drones' })).toEqual(['ev.f.needKind']);
  });
  it('translates every kind', () => {
    for (const k of KINDS) for (const l of LANGS) expect(kindLabel(k, l)).not.toBe(k);
    expect(kindLabel('camera_cluster', 'kk')).toBe('Камералар тобы');
    expect(kindLabel('drones', 'en')).toBe('drones');
  });
});
