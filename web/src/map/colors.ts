// Colour scales of the hotspot map (pure: unit-tested).

export type Method = 'grid' | 'gi' | 'lisa' | 'kde';

/** Sequential yellow→dark red (ColorBrewer YlOrRd, 7 classes). */
export const SEQUENTIAL = ['#ffffb2', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c', '#b10026'];

/** Gi* classes: +3 … −3 (hot 99 % … cold 99 %), diverging red–blue. */
export const GI_CLASSES: { value: number; key: string; color: string }[] = [
  { value: 3, key: 'hot99', color: '#b2182b' },
  { value: 2, key: 'hot95', color: '#ef8a62' },
  { value: 1, key: 'hot90', color: '#fddbc7' },
  { value: 0, key: 'ns', color: '#d3d8df' },
  { value: -1, key: 'cold90', color: '#d1e5f0' },
  { value: -2, key: 'cold95', color: '#67a9cf' },
  { value: -3, key: 'cold99', color: '#2166ac' },
];

/** Cells that hold incidents but are not significant (context for gi / lisa maps). */
export const NS_COLOR = '#d3d8df';

/** Local Moran clusters. */
export const LISA_CLUSTERS: { key: string; color: string }[] = [
  { key: 'HH', color: '#d7191c' },
  { key: 'HL', color: '#fdae61' },
  { key: 'LH', color: '#abd9e9' },
  { key: 'LL', color: '#2c7bb6' },
  { key: 'ns', color: '#d3d8df' },
];

/** The Gi* class of a feature property: the server sends −3…3; names are accepted too. */
export function giClassValue(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.max(-3, Math.min(3, Math.round(v)));
  if (typeof v === 'string') {
    const c = GI_CLASSES.find((g) => g.key === v);
    if (c) return c.value;
    const n = Number(v);
    if (Number.isFinite(n)) return giClassValue(n);
  }
  return 0;
}

export function giClassKey(v: unknown): string {
  const n = giClassValue(v);
  return GI_CLASSES.find((g) => g.value === n)!.key;
}

/**
 * Class breaks for a sequential scale: up to `k` increasing upper bounds from
 * quantiles of the positive values (zeros get their own "0" class). Repeated
 * bounds are merged, so few distinct values give few classes.
 */
export function sequentialBreaks(values: ArrayLike<number>, k = SEQUENTIAL.length): number[] {
  const pos: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v) && v > 0) pos.push(v);
  }
  if (pos.length === 0) return [];
  pos.sort((a, b) => a - b);
  const out: number[] = [];
  for (let j = 1; j <= k; j++) {
    const q = pos[Math.min(pos.length - 1, Math.ceil((j / k) * pos.length) - 1)];
    if (out.length === 0 || q > out[out.length - 1]) out.push(q);
  }
  return out;
}

/** Index of the class of `v` for breaks from sequentialBreaks (−1 for zero / no value). */
export function classOf(v: number, breaks: number[]): number {
  if (!(v > 0)) return -1;
  for (let i = 0; i < breaks.length; i++) if (v <= breaks[i]) return i;
  return breaks.length - 1;
}

/** Colours for `breaks.length` classes spread over the sequential ramp. */
export function rampColors(nClasses: number): string[] {
  if (nClasses <= 0) return [];
  if (nClasses === 1) return [SEQUENTIAL[SEQUENTIAL.length - 1]];
  const out: string[] = [];
  for (let i = 0; i < nClasses; i++) out.push(SEQUENTIAL[Math.round((i * (SEQUENTIAL.length - 1)) / (nClasses - 1))]);
  return out;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US').replace(/,/g, '\u202f');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** Property that a method's map is coloured by. */
export function colorProperty(method: Method): string {
  switch (method) {
    case 'gi':
      return 'gi_class';
    case 'lisa':
      return 'lisa_cluster';
    case 'kde':
      return 'kde_km2';
    default:
      return 'count';
  }
}

/** Colour of one feature's properties (a `_color` property is precomputed in the client). */
export function featureColor(method: Method, props: Record<string, unknown>, breaks: number[], colors: string[]): string | null {
  if (method === 'gi') {
    const v = giClassValue(props.gi_class);
    if (v === 0) return Number(props.count) > 0 ? NS_COLOR : null;
    return GI_CLASSES.find((g) => g.value === v)!.color;
  }
  if (method === 'lisa') {
    const c = LISA_CLUSTERS.find((l) => l.key === props.lisa_cluster);
    if (!c || c.key === 'ns') return Number(props.count) > 0 ? NS_COLOR : null;
    return c.color;
  }
  const v = Number(props[colorProperty(method)]);
  const i = classOf(v, breaks);
  return i < 0 ? null : colors[i];
}
