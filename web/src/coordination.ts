// Pure helpers of the coordination and facilities pages (unit-tested): labels of the codes,
// deadlines, days left, who may do what with an assignment, dates.

import type { AppNotification, Assignment, AssignmentDetail, AssignmentStatus, Measure, Role } from './api';
import { stampFormat } from './forecast';
import { hasKey, localeOf, tIn, type Key, type Lang, lang } from './i18n';

export const STATUSES: AssignmentStatus[] = ['draft', 'on_execution', 'report_submitted', 'returned', 'accepted', 'cancelled'];
export const PRIORITIES = ['normal', 'high', 'urgent'] as const;
export const BODY_KINDS = ['coordination_council', 'antiterrorist_commission', 'operational_headquarters', 'other'] as const;
export const RECURRENCES = ['monthly', 'quarterly', 'half_yearly', 'yearly'] as const;
export type Recurrence = (typeof RECURRENCES)[number];
export const THREAT_LEVELS = ['yellow', 'orange', 'red'] as const;
export const FACILITY_CATEGORIES = [
  'strategic',
  'life_support',
  'railway_station',
  'airport',
  'bus_station',
  'retail',
  'sports',
  'education',
  'health',
  'hotel',
  'culture',
  'other',
] as const;
export const EQUIPMENT = ['video', 'video_connected', 'access_control', 'alarm', 'guard_post', 'lighting', 'perimeter'] as const;
export const EVENT_ACTIONS = ['create', 'issue', 'submit_report', 'accept', 'return', 'cancel', 'extension_request', 'extension_granted', 'extension_refused', 'next_period'] as const;

/** A translated code with a prefix (`as.draft`), or the code itself when unknown. */
function coded(prefix: string, code: string | null | undefined, l: Lang): string {
  if (!code) return tIn(l, 'common.none');
  const k = `${prefix}.${code}`;
  return hasKey(k) ? tIn(l, k as Key) : code;
}

export const statusLabel = (s: string | null | undefined, l: Lang = lang()) => coded('as', s, l);
export const priorityLabel = (p: string | null | undefined, l: Lang = lang()) => coded('prio', p, l);
export const bodyKindLabel = (k: string | null | undefined, l: Lang = lang()) => coded('bk', k, l);
export const eventLabel = (a: string | null | undefined, l: Lang = lang()) => coded('ev', a, l);
export const levelLabel = (v: string | null | undefined, l: Lang = lang()) => coded('lvl', v, l);
/** A facility category, or `police` for the police units. */
export const facilityCategoryLabel = (c: string | null | undefined, l: Lang = lang()) => coded('fcat', c, l);
export const equipmentLabel = (e: string | null | undefined, l: Lang = lang()) => coded('eq', e, l);

// ---- Dates ----

/** Today's local date, `YYYY-MM-DD`. */
export function todayIso(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/** `YYYY-MM-DD` plus `days` (calendar arithmetic, no time zone). */
export function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}

export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/**
 * A date `YYYY-MM-DD` in the language's format ("5 апр. 2026 г.", "5 Apr 2026"; "05.04.2026"
 * where the browser has no Kazakh month names), as the other pages write dates.
 */
export function fmtDate(iso: string | null | undefined, l: Lang = lang()): string {
  if (!iso) return tIn(l, 'common.none');
  if (!isIsoDate(iso)) return iso;
  const [y, m, d] = iso.split('-').map(Number);
  return stampFormat(l, false).format(new Date(Date.UTC(y, m - 1, d)));
}

/** Unix seconds as the browser's wall clock, to the minute, in the numeric format ("05.12.2026, 09:00"). */
export function fmtEpoch(secs: number | null | undefined, l: Lang = lang()): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs)) return tIn(l, 'common.none');
  const d = new Date(secs * 1000);
  return stampFormat(l, true, false).format(new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes())));
}

// ---- Deadlines ----

export type DeadlineSpec = { kind: 'fixed'; date: string } | { kind: 'recurring'; every: Recurrence; day: number };

/** The API's deadline text: `YYYY-MM-DD` or `PERIOD:DAY`; null when incomplete or invalid. */
export function deadlineString(d: DeadlineSpec): string | null {
  if (d.kind === 'fixed') return isIsoDate(d.date) ? d.date : null;
  if (!RECURRENCES.includes(d.every) || !Number.isInteger(d.day) || d.day < 1 || d.day > 28) return null;
  return `${d.every}:${d.day}`;
}

export function parseDeadline(s: string): DeadlineSpec | null {
  const t = s.trim();
  const m = /^([a-z_]+):(\d{1,2})$/.exec(t);
  if (m) {
    const every = m[1] as Recurrence;
    const day = Number(m[2]);
    if (!RECURRENCES.includes(every) || day < 1 || day > 28) return null;
    return { kind: 'recurring', every, day };
  }
  return isIsoDate(t) ? { kind: 'fixed', date: t } : null;
}

/** "by 5 Apr 2026" or "quarterly, by the 5th" in the language. */
export function deadlineText(s: string, l: Lang = lang()): string {
  const d = parseDeadline(s);
  if (!d) return s;
  if (d.kind === 'fixed') return fmtDate(d.date, l);
  return tIn(l, 'co.recurringText', { every: tIn(l, `rec.${d.every}` as Key), day: d.day });
}

// ---- Days left ----

/** "5 days" with the language's plural forms. */
export function daysText(n: number, l: Lang = lang()): string {
  const abs = Math.abs(n);
  const rule = new Intl.PluralRules(localeOf(l)).select(abs);
  const form = rule === 'one' || rule === 'few' || rule === 'many' ? rule : 'other';
  return tIn(l, `co.days.${form}` as Key, { n: abs });
}

/** Days before the due date as a phrase: "5 days left", "due today", "3 days overdue"; "—" when closed. */
export function daysLeftText(daysLeft: number | null | undefined, l: Lang = lang()): string {
  if (daysLeft === null || daysLeft === undefined) return tIn(l, 'common.none');
  if (daysLeft === 0) return tIn(l, 'co.dueToday');
  if (daysLeft > 0) return tIn(l, 'co.left', { d: daysText(daysLeft, l) });
  return tIn(l, 'co.late', { d: daysText(daysLeft, l) });
}

// ---- Who may do what (the server decides; the UI hides what it would refuse) ----

export interface Who {
  login: string;
  role: Role;
  agency: string | null;
}

export const manages = (r: Role | undefined) => r === 'administrator' || r === 'analyst' || r === 'commander';

export function isExecutor(me: Who, a: Assignment): boolean {
  return me.role === 'administrator' || (me.role !== 'viewer' && !!me.agency && me.agency === a.executor);
}

export function isController(me: Who, a: Assignment): boolean {
  return me.role === 'administrator' || me.login === a.controller;
}

export interface Allowed {
  issue: boolean;
  cancel: boolean;
  report: boolean;
  requestExtension: boolean;
  decideExtension: boolean;
  review: boolean;
}

/** The pending extension request, if any. */
export function pendingExtension(a: AssignmentDetail) {
  return a.extensions.find((x) => x.granted === null || x.granted === undefined) ?? null;
}

export function allowedActions(me: Who, a: AssignmentDetail): Allowed {
  const open = a.status === 'on_execution' || a.status === 'report_submitted' || a.status === 'returned';
  const awaits = a.status === 'on_execution' || a.status === 'returned';
  const authorOrController = manages(me.role) && (me.login === a.author || isController(me, a));
  const pending = pendingExtension(a);
  return {
    issue: a.status === 'draft' && authorOrController,
    cancel: (open || a.status === 'draft') && authorOrController,
    report: awaits && isExecutor(me, a),
    requestExtension: awaits && isExecutor(me, a) && !pending,
    decideExtension: !!pending && isController(me, a),
    review: a.status === 'report_submitted' && isController(me, a),
  };
}

// ---- Notifications ----

export function notificationText(n: AppNotification, l: Lang = lang()): string {
  if (n.kind === 'overdue') return tIn(l, 'ntf.overdue', { id: n.assignment_id, date: fmtDate(n.due_on, l) });
  if (n.kind === 'reminder') return tIn(l, 'ntf.reminder', { id: n.assignment_id, date: fmtDate(n.due_on, l) });
  return n.message;
}

// ---- Facilities ----

/** The state of an anti-terrorism passport: missing, expired, expiring within 30 days, or valid. */
export function passportState(validUntil: string | null | undefined, today: string): 'none' | 'expired' | 'expiring' | 'valid' {
  if (!validUntil || !isIsoDate(validUntil)) return 'none';
  if (validUntil < today) return 'expired';
  if (validUntil <= addDays(today, 30)) return 'expiring';
  return 'valid';
}

export const MEASURES_HEADER = ['category', 'level', 'code', 'text'];

/** The measures table as the CSV that `PUT /measures` takes back. */
export function measuresCsv(list: Measure[]): string {
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [MEASURES_HEADER.join(','), ...list.map((m) => [m.category, m.level, m.code, m.text].map(field).join(','))].join('\n') + '\n';
}

/** Measures sorted by category (police first), level and code. */
export function sortMeasures(list: Measure[]): Measure[] {
  const rank = (lv: string) => (THREAT_LEVELS as readonly string[]).indexOf(lv);
  const cat = (c: string) => (c === 'police' ? '' : c);
  return [...list].sort((a, b) => cat(a.category).localeCompare(cat(b.category)) || rank(a.level) - rank(b.level) || a.code.localeCompare(b.code));
}

/** Whether an assignment's item number refers to a protocol item: the same number, or a sub-point of it ("2.1" of "2"). */
export function itemCovers(protocolItem: string, item: string): boolean {
  return item === protocolItem || (item.startsWith(protocolItem) && item.charAt(protocolItem.length) === '.');
}

/** Splits "A, B; C" into trimmed, distinct agency names. */
export function splitList(s: string): string[] {
  const out: string[] = [];
  for (const x of s.split(/[,;\n]/)) {
    const v = x.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}
