import { describe, expect, it } from 'vitest';
import { classOf, featureColor, GI_CLASSES, giClassKey, giClassValue, LISA_CLUSTERS, NS_COLOR, rampColors, SEQUENTIAL, sequentialBreaks } from '../src/map/colors';
import { heatColor, niceScale } from '../src/charts/canvas';
import { lastYearRange } from '../src/pages/range';

describe('colour scales', () => {
  it('reads Gi* classes as numbers (the server) or names', () => {
    expect(giClassValue(3)).toBe(3);
    expect(giClassValue(-2)).toBe(-2);
    expect(giClassValue('hot99')).toBe(3);
    expect(giClassValue('cold90')).toBe(-1);
    expect(giClassValue('2')).toBe(2);
    expect(giClassValue(null)).toBe(0);
    expect(giClassValue(7)).toBe(3);
    expect(giClassKey(-3)).toBe('cold99');
    expect(giClassKey(0)).toBe('ns');
  });

  it('diverges red (hot) to blue (cold) for Gi*', () => {
    const hot = featureColor('gi', { gi_class: 3, count: 5 }, [], []);
    const cold = featureColor('gi', { gi_class: -3, count: 0 }, [], []);
    expect(hot).toBe(GI_CLASSES[0].color);
    expect(cold).toBe(GI_CLASSES[6].color);
    expect(featureColor('gi', { gi_class: 0, count: 4 }, [], [])).toBe(NS_COLOR);
    expect(featureColor('gi', { gi_class: 0, count: 0 }, [], [])).toBeNull();
  });

  it('colours LISA clusters', () => {
    expect(featureColor('lisa', { lisa_cluster: 'HH', count: 1 }, [], [])).toBe(LISA_CLUSTERS.find((l) => l.key === 'HH')!.color);
    expect(featureColor('lisa', { lisa_cluster: 'ns', count: 0 }, [], [])).toBeNull();
  });

  it('makes increasing quantile breaks from positive values', () => {
    const values = [0, 0, 1, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    const b = sequentialBreaks(values);
    expect(b.length).toBeGreaterThan(2);
    expect(b.length).toBeLessThanOrEqual(SEQUENTIAL.length);
    for (let i = 1; i < b.length; i++) expect(b[i]).toBeGreaterThan(b[i - 1]);
    expect(b[b.length - 1]).toBe(89);
    expect(classOf(0, b)).toBe(-1);
    expect(classOf(89, b)).toBe(b.length - 1);
    expect(classOf(1, b)).toBe(0);
    expect(sequentialBreaks([0, 0])).toEqual([]);
    expect(sequentialBreaks([4, 4, 4])).toEqual([4]);
  });

  it('spreads ramp colours over the scale', () => {
    expect(rampColors(0)).toEqual([]);
    expect(rampColors(1)).toEqual([SEQUENTIAL[SEQUENTIAL.length - 1]]);
    const c = rampColors(3);
    expect(c[0]).toBe(SEQUENTIAL[0]);
    expect(c[2]).toBe(SEQUENTIAL[SEQUENTIAL.length - 1]);
    const grid = featureColor('grid', { count: 89 }, [1, 10, 89], c);
    expect(grid).toBe(c[2]);
    expect(featureColor('kde', { kde_km2: 0.5 }, [1, 10], rampColors(2))).toBe(SEQUENTIAL[0]);
  });

  it('heat colours run from light to dark', () => {
    expect(heatColor(0)).toBe('rgb(255,255,229)');
    expect(heatColor(1)).toBe('rgb(177,0,38)');
    expect(heatColor(-1)).toBe(heatColor(0));
  });

  it('makes nice axes', () => {
    expect(niceScale(2779)).toEqual({ max: 3000, step: 1000 });
    expect(niceScale(0)).toEqual({ max: 1, step: 1 });
    expect(niceScale(9).max).toBeGreaterThanOrEqual(9);
  });

  it('defaults to the twelve months up to the last month with data', () => {
    expect(lastYearRange('2021-12')).toEqual({ from: '2021-01-01', to: '2021-12-31' });
    expect(lastYearRange('2024-02')).toEqual({ from: '2023-03-01', to: '2024-02-29' });
  });
});
