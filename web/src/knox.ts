// Near-repeat (Knox) table: band labels, cell texts, findings in words, CSV rows.
// Pure functions of the server's JSON and a language (no DOM), so vitest can load them.

import type { KnoxCell, KnoxSpatialBand, KnoxTemporalBand, NearRepeat } from './api';
import { fmtDec, fmtInt, lang, tIn, type Lang } from './i18n';

/** The Near Repeat Calculator's settings, which are also the server's defaults. */
export const KNOX_DEFAULTS = {
  spatial_bandwidth: 100,
  spatial_bands: 3,
  temporal_bandwidth: 7,
  temporal_bands: 3,
  metric: 'manhattan' as 'manhattan' | 'euclidean',
  permutations: 999,
  seed: 1,
};
export type KnoxSettings = typeof KNOX_DEFAULTS;

/** Time bands shorter than a day are counted by the hour (and labelled in hours). */
export function isHourly(nr: Pick<NearRepeat, 'params'>): boolean {
  return nr.params.temporal_bandwidth_days < 1;
}

/** A band edge: up to two decimals, in the locale's format. */
export function fmtEdge(v: number, l: Lang = lang()): string {
  return fmtDec(v, 0, 2, l);
}

/** Days as hours, without the float noise of × 24 (0.1 day → 2.4 h). */
function toHours(days: number): number {
  return Math.round(days * 24 * 1e6) / 1e6;
}

/** "То же место", "0–100 м", "≥ 300 м". */
export function spaceLabel(b: KnoxSpatialBand, l: Lang = lang()): string {
  if (b.kind === 'same') return tIn(l, 'nr.space.same');
  if (b.kind === 'beyond' || b.to_m === null) return tIn(l, 'nr.space.beyond', { from: fmtEdge(b.from_m, l) });
  return tIn(l, 'nr.space.within', { from: fmtEdge(b.from_m, l), to: fmtEdge(b.to_m, l) });
}

/** "0–7 дн.", "≥ 21 дн."; in hours ("0–6 ч") when `hourly`. */
export function timeLabel(b: KnoxTemporalBand, hourly: boolean, l: Lang = lang()): string {
  const v = (d: number) => fmtEdge(hourly ? toHours(d) : d, l);
  if (b.kind === 'beyond' || b.to_days === null) return tIn(l, hourly ? 'nr.time.beyondH' : 'nr.time.beyond', { from: v(b.from_days) });
  return tIn(l, hourly ? 'nr.time.withinH' : 'nr.time.within', { from: v(b.from_days), to: v(b.to_days) });
}

/** A length of time: "7 дн.", "1 day", "6 h". */
export function duration(days: number, hourly: boolean, l: Lang = lang()): string {
  if (hourly) return tIn(l, 'nr.hours', { n: fmtEdge(toHours(days), l) });
  return tIn(l, days === 1 ? 'nr.day1' : 'nr.days', { n: fmtEdge(days, l) });
}

/** The Knox ratio with two decimals, "—" when nothing was expected. */
export function ratioText(r: number | null, l: Lang = lang()): string {
  return r === null || !Number.isFinite(r) ? tIn(l, 'common.none') : fmtDec(r, 2, 2, l);
}

/** A p-value: three decimals, four when 9999 permutations make 0.0001 possible. */
export function pText(p: number, l: Lang = lang()): string {
  return fmtDec(p, 3, 4, l);
}

/** A mean expected count: one decimal, two below 10. */
export function expectedText(e: number, l: Lang = lang()): string {
  return fmtDec(e, 0, Math.abs(e) < 10 ? 2 : 1, l);
}

/** "28 / 15,5": observed / mean expected. */
export function observedExpected(c: KnoxCell, l: Lang = lang()): string {
  return `${fmtInt(c.observed, l)} / ${expectedText(c.mean_expected, l)}`;
}

/** The full figures of a cell (its tooltip). */
export function cellTip(c: KnoxCell, l: Lang = lang()): string {
  return tIn(l, 'nr.cellTip', {
    o: fmtInt(c.observed, l),
    e: expectedText(c.mean_expected, l),
    min: fmtInt(c.min_expected, l),
    max: fmtInt(c.max_expected, l),
    r: ratioText(c.knox_ratio, l),
    p: pText(c.p_value, l),
  });
}

/** "About N % more": the excess of a Knox ratio over 1, in whole percent. */
export function excessPercent(ratio: number): number {
  return Math.round((ratio - 1) * 100);
}

function capitalise(s: string): string {
  return s ? s[0].toLocaleUpperCase() + s.slice(1) : s;
}

/** "на расстоянии 0–100 м" / "в том же месте". */
function spacePhrase(b: KnoxSpatialBand, l: Lang): string {
  return b.kind === 'same' ? tIn(l, 'nr.f.spaceSame') : tIn(l, 'nr.f.spaceAt', { band: spaceLabel(b, l) });
}

/** "в первые 7 дн." for a band from 0, "через 7–14 дн." otherwise. */
function timePhrase(b: KnoxTemporalBand, hourly: boolean, l: Lang): string {
  if (b.kind === 'within' && b.to_days !== null && b.from_days === 0) return tIn(l, 'nr.f.timeFirst', { d: duration(b.to_days, hourly, l) });
  return tIn(l, 'nr.f.timeLater', { band: timeLabel(b, hourly, l) });
}

/** How long a run of columns lasts: the upper edge of its last band. */
function until(nr: NearRepeat, column: number, hourly: boolean, l: Lang): string {
  const b = nr.temporal_bands[column];
  if (!b) return '?';
  return b.to_days === null ? timeLabel(b, hourly, l) : duration(b.to_days, hourly, l);
}

/**
 * The findings in words, built from the structured summary (the server's `summary.text`
 * is English only): near repeats and how long they last, the strongest zone, repeats at
 * the same location or their absence, then the counts, the bands and what was left out.
 */
export function findings(nr: NearRepeat, l: Lang = lang()): string[] {
  const hourly = isHourly(nr);
  const s = nr.summary;
  const out: string[] = [];
  if (s.near_repeats.length === 0) {
    out.push(tIn(l, 'nr.f.nearNone'));
  } else {
    out.push(tIn(l, 'nr.f.nearFound'));
    for (const f of s.near_repeats) {
      const band = nr.spatial_bands[f.row];
      if (!band) continue;
      out.push(capitalise(tIn(l, 'nr.f.nearBand', { space: spacePhrase(band, l), until: until(nr, f.up_to_column, hourly, l) })));
    }
    const st = s.strongest_near_repeat;
    if (st && nr.spatial_bands[st.row] && nr.temporal_bands[st.column]) {
      out.push(
        tIn(l, 'nr.f.strongest', {
          space: spacePhrase(nr.spatial_bands[st.row], l),
          time: timePhrase(nr.temporal_bands[st.column], hourly, l),
          pct: fmtInt(excessPercent(st.knox_ratio), l),
          ratio: ratioText(st.knox_ratio, l),
        }),
      );
    }
  }
  if (s.repeat_up_to_column !== null && s.strongest_repeat) {
    out.push(tIn(l, 'nr.f.repeatFound', { until: until(nr, s.repeat_up_to_column, hourly, l), pct: fmtInt(excessPercent(s.strongest_repeat.knox_ratio), l) }));
  } else {
    out.push(tIn(l, 'nr.f.repeatNone'));
  }
  out.push(
    tIn(l, 'nr.f.counts', {
      events: fmtInt(nr.events, l),
      pairs: fmtInt(nr.pairs, l),
      permutations: fmtInt(nr.params.permutations, l),
      seed: String(nr.params.seed),
    }),
  );
  out.push(
    tIn(l, 'nr.f.bands', {
      sn: fmtInt(nr.params.spatial_bands, l),
      sb: tIn(l, 'nr.metres', { n: fmtEdge(nr.params.spatial_bandwidth_m, l) }),
      tn: fmtInt(nr.params.temporal_bands, l),
      tb: duration(nr.params.temporal_bandwidth_days, hourly, l),
      metric: tIn(l, nr.params.metric === 'euclidean' ? 'nr.metric.euclidean' : 'nr.metric.manhattan'),
    }),
  );
  if (nr.left_out > 0) out.push(tIn(l, hourly ? 'nr.f.leftOutHourly' : 'nr.f.leftOut', { n: fmtInt(nr.left_out, l) }));
  return out;
}

/** The legend: what a cell shows, what is highlighted and why, how bands are bounded. */
export function legend(nr: NearRepeat, l: Lang = lang()): string[] {
  return [
    tIn(l, 'nr.legendCell'),
    tIn(l, 'nr.legendNotable', {
      alpha: fmtDec(nr.params.significance, 0, 4, l),
      ratio: fmtDec(nr.params.meaningful_ratio, 0, 2, l),
      pct: fmtInt(excessPercent(nr.params.meaningful_ratio), l),
    }),
    tIn(l, 'nr.legendBands'),
  ];
}

// ---- CSV: the same columns and band labels as `qalqan analyze near-repeat --format csv` ----

export const CSV_HEADER = ['row', 'column', 'space', 'time', 'observed', 'mean_expected', 'min_expected', 'max_expected', 'knox_ratio', 'p_value', 'notable'];

/** "same location", "[0, 100) m", "≥ 300 m" (language-neutral, as the server's CSV). */
export function spaceLabelCsv(b: KnoxSpatialBand): string {
  if (b.kind === 'same') return 'same location';
  if (b.kind === 'beyond' || b.to_m === null) return `≥ ${b.from_m} m`;
  return `[${b.from_m}, ${b.to_m}) m`;
}

/** "[0, 7) days", "≥ 21 days". */
export function timeLabelCsv(b: KnoxTemporalBand): string {
  if (b.kind === 'beyond' || b.to_days === null) return `≥ ${b.from_days} days`;
  return `[${b.from_days}, ${b.to_days}) days`;
}

/** One line per cell, rows first. */
export function csvRows(nr: NearRepeat): unknown[][] {
  const rows: unknown[][] = [];
  nr.spatial_bands.forEach((sb, r) =>
    nr.temporal_bands.forEach((tb, c) => {
      const cell = nr.cells[r]?.[c];
      if (!cell) return;
      rows.push([r, c, spaceLabelCsv(sb), timeLabelCsv(tb), cell.observed, cell.mean_expected, cell.min_expected, cell.max_expected, cell.knox_ratio, cell.p_value, cell.notable]);
    }),
  );
  return rows;
}

/** Observed pairs per row and per column (the margins of the observed table). */
export function observedTotals(nr: NearRepeat): { rows: number[]; columns: number[]; all: number } {
  const rows = nr.cells.map((r) => r.reduce((a, c) => a + c.observed, 0));
  const columns = nr.temporal_bands.map((_, c) => nr.cells.reduce((a, r) => a + (r[c]?.observed ?? 0), 0));
  return { rows, columns, all: rows.reduce((a, b) => a + b, 0) };
}
