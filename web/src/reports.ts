// Pure helpers of the council pack page (#/reports): the periods offered, the request path and
// the file name of the answer. Unit-tested in test/reports.test.ts.

import { enc, qs } from './api';
import { fmtDec, fmtInt, tIn, type Lang } from './i18n';

export type PackFormat = 'pdf' | 'html';
export type PeriodPreset = 'last12' | 'quarter' | 'year';

export interface PackPeriod {
  from: string;
  to: string;
}

export interface PackQuery extends PackPeriod {
  territory: string;
  lang: Lang;
  format: PackFormat;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD` of a calendar day; `month` is 1-based and may run outside 1…12 (Date.UTC rolls it over). */
function isoDay(year: number, month: number, day: number): string {
  const d = new Date(Date.UTC(year, month - 1, day));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function parts(today: string): [number, number] {
  const [y, m] = today.split('-').map(Number);
  return [y, m];
}

/** Today in the browser's own calendar, `YYYY-MM-DD`. */
export function localToday(now: Date = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** The last twelve whole months before the current one (on 2026-12-05: 2025-12-01 … 2026-11-30). */
export function last12Months(today: string): PackPeriod {
  const [y, m] = parts(today);
  return { from: isoDay(y, m - 12, 1), to: isoDay(y, m, 0) };
}

/** The last whole calendar quarter (on 2026-12-05: 2026-07-01 … 2026-09-30; in January, the fourth quarter before). */
export function lastQuarter(today: string): PackPeriod {
  const [y, m] = parts(today);
  const firstOfThis = Math.floor((m - 1) / 3) * 3 + 1; // first month of the current quarter
  return { from: isoDay(y, firstOfThis - 3, 1), to: isoDay(y, firstOfThis, 0) };
}

/** The last whole calendar year. */
export function lastYear(today: string): PackPeriod {
  const [y] = parts(today);
  return { from: `${y - 1}-01-01`, to: `${y - 1}-12-31` };
}

export function presetPeriod(preset: PeriodPreset, today: string): PackPeriod {
  return preset === 'last12' ? last12Months(today) : preset === 'quarter' ? lastQuarter(today) : lastYear(today);
}

/** The preset a period equals (to mark its button), if any. */
export function presetOf(p: PackPeriod, today: string): PeriodPreset | null {
  for (const k of ['last12', 'quarter', 'year'] as PeriodPreset[]) {
    const q = presetPeriod(k, today);
    if (q.from === p.from && q.to === p.to) return k;
  }
  return null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Both ends given as days and the start not after the end (the server checks the rest: at most three years). */
export function periodOk(p: PackPeriod): boolean {
  return DAY.test(p.from) && DAY.test(p.to) && p.from <= p.to;
}

/** `GET …/reports/council` of a query. */
export function councilPath(q: PackQuery): string {
  return `/territories/${enc(q.territory)}/reports/council${qs({ from: q.from, to: q.to, lang: q.lang, format: q.format })}`;
}

/** The name the server would give (used when the answer carries no Content-Disposition). */
export function fallbackName(q: PackQuery): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, '_');
  return `council-${safe(q.territory)}-${q.to}-${q.lang}.${q.format}`;
}

/** A file name fit to save: no directory parts, no control characters, not empty. */
function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  return base.replace(/[\u0000-\u001f\u007f]/g, '').trim().replace(/^\.+/, '');
}

/**
 * The file name of a `Content-Disposition` header: `filename*=UTF-8''…` (RFC 5987) first, then
 * `filename="…"` or a bare `filename=…`; `fallback` when there is none (or it is unusable).
 */
export function filenameFromDisposition(header: string | null | undefined, fallback: string): string {
  if (!header) return fallback;
  const star = /(?:^|;)\s*filename\*\s*=\s*([^';]*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      const name = cleanName(decodeURIComponent(star[2].trim().replace(/^"|"$/g, '')));
      if (name) return name;
    } catch {
      /* a malformed escape: try the plain parameter */
    }
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  const bare = /(?:^|;)\s*filename\s*=\s*([^";\s][^;]*)/i.exec(header);
  const raw = quoted ? quoted[1].replace(/\\(.)/g, '$1') : bare ? bare[1].trim() : '';
  return cleanName(raw) || fallback;
}

/** A file size in KB (whole) or MB (one decimal) in the language's number format. */
export function sizeText(bytes: number, l: Lang): string {
  if (bytes < 1024 * 1024) return tIn(l, 'rep.kb', { n: fmtInt(Math.max(1, Math.round(bytes / 1024)), l) });
  return tIn(l, 'rep.mb', { n: fmtDec(bytes / (1024 * 1024), 1, 1, l) });
}
