import { describe, expect, it } from 'vitest';
import type { AssignmentDetail } from '../src/api';
import {
  BODY_KINDS,
  EQUIPMENT,
  EVENT_ACTIONS,
  FACILITY_CATEGORIES,
  PRIORITIES,
  RECURRENCES,
  STATUSES,
  THREAT_LEVELS,
  addDays,
  allowedActions,
  daysLeftText,
  daysText,
  deadlineString,
  deadlineText,
  isIsoDate,
  itemCovers,
  measuresCsv,
  notificationText,
  parseDeadline,
  passportState,
  sortMeasures,
  splitList,
  statusLabel,
  todayIso,
} from '../src/coordination';
import { DICTS, hasKey } from '../src/i18n';

function assignment(over: Partial<AssignmentDetail> = {}): AssignmentDetail {
  return {
    id: 7,
    version: 1,
    body_id: 1,
    meeting_id: null,
    parent_id: null,
    item: '3',
    text: 'Install lighting',
    author: 'demo',
    executor: 'Akimat',
    executor_person: null,
    co_executors: [],
    controller: 'demo',
    deadline: '2026-03-01',
    due_on: '2026-03-01',
    priority: 'normal',
    place: null,
    status: 'on_execution',
    overdue: false,
    days_left: 5,
    events: [],
    extensions: [],
    reports: [],
    ...over,
  };
}

const analyst = { login: 'demo', role: 'analyst' as const, agency: 'Demo' };
const executor = { login: 'exec', role: 'agency_executor' as const, agency: 'Akimat' };
const viewerOfAkimat = { login: 'v', role: 'viewer' as const, agency: 'Akimat' };
const otherAnalyst = { login: 'other', role: 'analyst' as const, agency: 'Demo' };
const admin = { login: 'root', role: 'administrator' as const, agency: null };

describe('coordination codes', () => {
  it('translates every status, priority, body kind, event, level, category, equipment and period in the three languages', () => {
    const keys = [
      ...STATUSES.map((s) => `as.${s}`),
      ...PRIORITIES.map((p) => `prio.${p}`),
      ...BODY_KINDS.map((k) => `bk.${k}`),
      ...EVENT_ACTIONS.map((a) => `ev.${a}`),
      ...THREAT_LEVELS.map((l) => `lvl.${l}`),
      ...[...FACILITY_CATEGORIES, 'police'].map((c) => `fcat.${c}`),
      ...EQUIPMENT.map((e) => `eq.${e}`),
      ...RECURRENCES.map((r) => `rec.${r}`),
    ];
    for (const k of keys) expect(hasKey(k), k).toBe(true);
    expect(statusLabel('on_execution', 'ru')).toBe('На исполнении');
    expect(statusLabel('on_execution', 'kk')).toBe('Орындалуда');
    expect(statusLabel('on_execution', 'en')).toBe('On execution');
    expect(statusLabel('something_new', 'en')).toBe('something_new');
    expect(DICTS.kk['nav.coordination']).toBe('Үйлестіру');
  });
});

describe('deadlines', () => {
  it('writes and reads the API format', () => {
    expect(deadlineString({ kind: 'fixed', date: '2026-04-05' })).toBe('2026-04-05');
    expect(deadlineString({ kind: 'fixed', date: '2026-02-30' })).toBeNull();
    expect(deadlineString({ kind: 'recurring', every: 'quarterly', day: 5 })).toBe('quarterly:5');
    expect(deadlineString({ kind: 'recurring', every: 'quarterly', day: 29 })).toBeNull();
    expect(deadlineString({ kind: 'recurring', every: 'monthly', day: 0 })).toBeNull();
    expect(parseDeadline('half_yearly:10')).toEqual({ kind: 'recurring', every: 'half_yearly', day: 10 });
    expect(parseDeadline('2026-03-01')).toEqual({ kind: 'fixed', date: '2026-03-01' });
    expect(parseDeadline('weekly:3')).toBeNull();
  });

  it('says a recurring deadline in words', () => {
    expect(deadlineText('quarterly:5', 'ru')).toBe('ежеквартально, до 5-го числа после окончания периода');
    expect(deadlineText('quarterly:5', 'en')).toBe('quarterly, by day 5 after each period');
    expect(deadlineText('2026-04-05', 'en')).toMatch(/5 Apr 2026/);
  });

  it('does calendar arithmetic on dates', () => {
    expect(addDays('2026-02-27', 2)).toBe('2026-03-01');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(todayIso(new Date(2026, 0, 9, 23, 30))).toBe('2026-01-09');
  });
});

describe('days left', () => {
  it('uses the plural forms of each language', () => {
    expect(daysText(1, 'ru')).toBe('1 день');
    expect(daysText(3, 'ru')).toBe('3 дня');
    expect(daysText(5, 'ru')).toBe('5 дней');
    expect(daysText(21, 'ru')).toBe('21 день');
    expect(daysText(1, 'en')).toBe('1 day');
    expect(daysText(2, 'en')).toBe('2 days');
    expect(daysText(5, 'kk')).toBe('5 күн');
  });

  it('says left, today or overdue', () => {
    expect(daysLeftText(5, 'ru')).toBe('до срока 5 дней');
    expect(daysLeftText(0, 'en')).toBe('due today');
    expect(daysLeftText(-2, 'en')).toBe('2 days overdue');
    expect(daysLeftText(-2, 'kk')).toBe('мерзімнен 2 күн кешікті');
    expect(daysLeftText(null, 'en')).toBe('—');
  });
});

describe('who may do what', () => {
  it('lets the author or controller among the managers issue and cancel a draft', () => {
    const a = assignment({ status: 'draft', days_left: null });
    expect(allowedActions(analyst, a)).toMatchObject({ issue: true, cancel: true, report: false, review: false });
    expect(allowedActions(otherAnalyst, a)).toMatchObject({ issue: false, cancel: false });
    expect(allowedActions(admin, a)).toMatchObject({ issue: true, cancel: true });
    expect(allowedActions(executor, a)).toMatchObject({ issue: false, cancel: false, report: false });
  });

  it('lets the executing agency report and ask for more time, not a viewer of it', () => {
    const a = assignment();
    expect(allowedActions(executor, a)).toMatchObject({ report: true, requestExtension: true, decideExtension: false });
    expect(allowedActions(viewerOfAkimat, a)).toMatchObject({ report: false, requestExtension: false });
    expect(allowedActions(analyst, a)).toMatchObject({ report: false, cancel: true });
    const returned = assignment({ status: 'returned' });
    expect(allowedActions(executor, returned).report).toBe(true);
  });

  it('gives a pending extension to the controller and stops a second request', () => {
    const a = assignment({ extensions: [{ id: 1, requested_by: 'exec', new_due_on: '2026-04-01', reason: 'x', granted: null, decided_by: null, note: null }] });
    expect(allowedActions(analyst, a).decideExtension).toBe(true);
    expect(allowedActions(otherAnalyst, a).decideExtension).toBe(false);
    expect(allowedActions(executor, a)).toMatchObject({ requestExtension: false, report: true });
    const decided = assignment({ extensions: [{ id: 1, requested_by: 'exec', new_due_on: '2026-04-01', reason: 'x', granted: false, decided_by: 'demo', note: '' }] });
    expect(allowedActions(analyst, decided).decideExtension).toBe(false);
    expect(allowedActions(executor, decided).requestExtension).toBe(true);
  });

  it('lets the controller accept or return a report', () => {
    const a = assignment({ status: 'report_submitted' });
    expect(allowedActions(analyst, a)).toMatchObject({ review: true, report: false });
    expect(allowedActions(executor, a)).toMatchObject({ review: false, report: false, requestExtension: false });
    expect(allowedActions(analyst, assignment({ status: 'accepted', days_left: null }))).toEqual({
      issue: false,
      cancel: false,
      report: false,
      requestExtension: false,
      decideExtension: false,
      review: false,
    });
  });
});

describe('facilities and notifications', () => {
  it('tells the state of a passport', () => {
    expect(passportState(null, '2026-01-01')).toBe('none');
    expect(passportState('2025-12-31', '2026-01-01')).toBe('expired');
    expect(passportState('2026-01-20', '2026-01-01')).toBe('expiring');
    expect(passportState('2027-01-01', '2026-01-01')).toBe('valid');
  });

  it('writes the measures table back as CSV, police first', () => {
    const list = sortMeasures([
      { category: 'airport', level: 'orange', code: 'guard_doubled', text: 'Double the guard' },
      { category: 'airport', level: 'yellow', code: 'access_check', text: 'Check entrances, staff and service' },
      { category: 'police', level: 'yellow', code: 'briefing', text: 'Brief "all" units' },
    ]);
    expect(list.map((m) => m.code)).toEqual(['briefing', 'access_check', 'guard_doubled']);
    expect(measuresCsv(list)).toBe(
      'category,level,code,text\npolice,yellow,briefing,"Brief ""all"" units"\nairport,yellow,access_check,"Check entrances, staff and service"\nairport,orange,guard_doubled,Double the guard\n',
    );
  });

  it('builds the notification text in the language', () => {
    const n = { id: 1, assignment_id: 12, kind: 'overdue', due_on: '2026-03-01', message: 'Assignment 12 (Akimat) is overdue since 2026-03-01', created_at: 0, read: false };
    expect(notificationText(n, 'ru')).toMatch(/^Поручение № 12 просрочено/);
    expect(notificationText({ ...n, kind: 'reminder' }, 'en')).toMatch(/^Assignment No\. 12 is due on/);
    expect(notificationText({ ...n, kind: 'other' }, 'en')).toBe(n.message);
  });

  it('matches an assignment to its protocol item or a sub-point of it', () => {
    expect(itemCovers('2', '2')).toBe(true);
    expect(itemCovers('2', '2.1')).toBe(true);
    expect(itemCovers('2', '21')).toBe(false);
    expect(itemCovers('2.1', '2')).toBe(false);
  });

  it('splits agency lists', () => {
    expect(splitList(' Akimat, Police;Akimat\n ,Health ')).toEqual(['Akimat', 'Police', 'Health']);
  });
});
