// Coordination (issue #7): the dashboard of assignments on control, the list with filters, a new
// assignment, one assignment with its history, reports and extension requests and the actions
// open to the user, and the bodies (councils, commissions, headquarters) with their meetings.
//
// Sub-views are hash parameters: #/coordination?tab=dashboard|list|new|bodies, and
// #/coordination?assignment=ID for one assignment. The server decides who may do what; the
// page hides what it would refuse and shows its message when it refuses anyway.

import {
  ApiError,
  enc,
  getJson,
  postJson,
  qs,
  request,
  type Assignment,
  type AssignmentDetail,
  type CoordBody,
  type CoordDashboard,
  type Meeting,
} from '../api';
import { field, h, replace, select, type Child } from '../dom';
import { downloadCsv } from '../export';
import { fmtPct } from '../forecast';
import { fmtInt, t, type Key } from '../i18n';
import { refreshBell } from '../notify';
import {
  BODY_KINDS,
  PRIORITIES,
  RECURRENCES,
  STATUSES,
  allowedActions,
  bodyKindLabel,
  daysLeftText,
  deadlineString,
  deadlineText,
  eventLabel,
  fmtDate,
  fmtEpoch,
  isIsoDate,
  itemCovers,
  manages,
  addDays,
  parseDeadline,
  pendingExtension,
  priorityLabel,
  splitList,
  statusLabel,
  todayIso,
  type DeadlineSpec,
  type Recurrence,
  type Who,
} from '../coordination';
import { session } from '../state';
import { errorBox, filePicker, loading, message, pageTitle, panel, serverError, tabLinks } from '../ui';

type Tab = 'dashboard' | 'list' | 'new' | 'bodies';

/** The list's filters, kept while the application is open. */
const listFilters: { status: string; agency: string; overdue: boolean } = { status: '', agency: '', overdue: false };

/** Largest attachment the server takes (20 MiB each). */
const MAX_ATTACHMENT = 20 * 1024 * 1024;

export async function render(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const me = session.me!;
  const who: Who = { login: me.login, role: me.role, agency: me.agency };
  const mayManage = manages(me.role);
  const idParam = params.get('assignment');
  const wanted = (params.get('tab') ?? 'dashboard') as Tab;
  const tab: Tab | 'detail' = idParam ? 'detail' : (['dashboard', 'list', 'new', 'bodies'] as Tab[]).includes(wanted) ? wanted : 'dashboard';
  let disposed = false;

  const items: { key: Tab; label: string; href: string }[] = [
    { key: 'dashboard', label: t('co.tab.dashboard'), href: '#/coordination?tab=dashboard' },
    { key: 'list', label: t('co.tab.list'), href: '#/coordination?tab=list' },
  ];
  if (mayManage) items.push({ key: 'new', label: t('co.tab.new'), href: '#/coordination?tab=new' });
  items.push({ key: 'bodies', label: t('co.tab.bodies'), href: '#/coordination?tab=bodies' });
  const content = h('div', { class: 'co-content' });
  replace(root, pageTitle(t('co.title')), tabLinks(items, tab === 'detail' ? 'list' : tab, t('co.title'), 'co-tab'), content);
  content.appendChild(loading());

  // ---- Shared look-ups ----
  let bodies: CoordBody[] = [];
  const meetings = new Map<number, Meeting[]>();
  const loadBodies = async () => {
    bodies = (await getJson<{ bodies: CoordBody[] }>('/bodies')).bodies;
  };
  const meetingsOf = async (bodyId: number): Promise<Meeting[]> => {
    const known = meetings.get(bodyId);
    if (known) return known;
    const list = (await getJson<{ meetings: Meeting[] }>(`/bodies/${bodyId}/meetings`)).meetings;
    meetings.set(bodyId, list);
    return list;
  };
  const bodyName = (id: number) => bodies.find((b) => b.id === id)?.name ?? `#${id}`;
  /** Body · meeting · item; the body's name clipped to `clipBody` characters when given. */
  const sourceText = (a: Assignment, clipBody?: number): string => {
    const parts = [clipBody ? clip(bodyName(a.body_id), clipBody) : bodyName(a.body_id)];
    const m = a.meeting_id !== null ? meetings.get(a.body_id)?.find((x) => x.id === a.meeting_id) : undefined;
    if (m) parts.push(t('co.meetingShort', { number: m.number, date: fmtDate(m.held_on) }));
    if (a.item) parts.push(t('co.itemShort', { item: a.item }));
    return parts.join(' · ');
  };
  /** Agencies known to the page, for the suggestion lists. */
  const agencyList = async (extra: Assignment[] = []): Promise<string[]> => {
    const set = new Set<string>();
    if (me.agency) set.add(me.agency);
    for (const b of bodies) for (const m of b.members) if (m.agency) set.add(m.agency);
    for (const a of extra) {
      set.add(a.executor);
      for (const c of a.co_executors) set.add(c);
    }
    if (me.role === 'administrator') {
      const list = await getJson<{ name: string }[]>('/admin/agencies').catch(() => [] as { name: string }[]);
      for (const x of list) set.add(x.name);
    }
    return [...set].sort((a, b) => a.localeCompare(b));
  };
  const datalist = (id: string, values: string[]) => h('datalist', { id }, values.map((v) => h('option', { value: v })));

  const statusBadge = (s: string) => h('span', { class: `badge st-${s}`, 'data-status': s }, statusLabel(s));
  const priorityBadge = (p: string) => h('span', { class: `badge prio-${p}` }, priorityLabel(p));
  const assignmentLink = (id: number, text?: string) => h('a', { href: `#/coordination?assignment=${id}`, 'data-assignment': id }, text ?? `№ ${id}`);

  try {
    await loadBodies();
    if (disposed) return () => {};
    if (tab === 'dashboard') await showDashboard();
    else if (tab === 'list') await showList();
    else if (tab === 'new') await showNew();
    else if (tab === 'bodies') await showBodies();
    else await showDetail(Number(idParam));
  } catch (e) {
    if (!disposed) replace(content, errorBox(e));
  }

  // ---- Dashboard ----
  async function showDashboard(): Promise<void> {
    const d = await getJson<CoordDashboard>('/assignments/dashboard');
    if (disposed) return;
    const box = (key: string, value: string, label: string, detail?: string, cls = '') =>
      h('div', { class: `count-box ${cls}`, 'data-count': key }, h('b', null, value), detail ? h('span', { class: 'cov-detail' }, detail) : null, h('span', null, label));
    const counts = h(
      'div',
      { class: 'counts co-counts', 'data-testid': 'co-dash-counts' },
      box('on_control', fmtInt(d.on_control), t('co.dash.onControl')),
      box('due_soon', fmtInt(d.due_within_7_days), t('co.dash.dueSoon')),
      box('overdue', fmtInt(d.overdue), t('co.dash.overdue'), undefined, d.overdue > 0 ? 'count-bad' : ''),
      box('on_time', fmtPct(d.reports.share_on_time), t('co.dash.onTime'), t('co.nOfM', { n: fmtInt(d.reports.on_time), m: fmtInt(d.reports.total) })),
      box('extensions', fmtPct(d.extensions.share_granted), t('co.dash.extensions'), t('co.nOfM', { n: fmtInt(d.extensions.granted), m: fmtInt(d.extensions.decided) })),
      box('accepted', fmtInt(d.accepted), t('co.dash.accepted')),
    );
    const rows = [...d.by_agency].sort((a, b) => b.overdue - a.overdue || b.on_control - a.on_control || a.agency.localeCompare(b.agency));
    const tbl = rows.length
      ? h(
          'table',
          { class: 'data co-agency-table', 'data-testid': 'co-dash-agencies' },
          h('caption', { class: 'visually-hidden' }, t('co.dash.byAgency')),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('co.executor')), h('th', { scope: 'col', class: 'num' }, t('co.dash.onControl')), h('th', { scope: 'col', class: 'num' }, t('co.dash.overdue')))),
          h(
            'tbody',
            null,
            rows.map((r) =>
              h(
                'tr',
                { class: r.overdue > 0 ? 'overdue' : '', 'data-agency': r.agency },
                h('th', { scope: 'row' }, h('a', { href: `#/coordination?tab=list&agency=${enc(r.agency)}` }, r.agency)),
                h('td', { class: 'num' }, fmtInt(r.on_control)),
                h('td', { class: 'num' }, r.overdue > 0 ? h('a', { href: `#/coordination?tab=list&agency=${enc(r.agency)}&overdue=1` }, fmtInt(r.overdue)) : fmtInt(r.overdue)),
              ),
            ),
          ),
        )
      : message('info', t('co.dash.none'));
    replace(
      content,
      h('p', { class: 'pl-intro' }, t('co.dash.intro', { date: fmtDate(d.today) })),
      counts,
      panel(t('co.dash.byAgency'), tbl, undefined, 'co-dash-by-agency'),
    );
  }

  // ---- List ----
  async function showList(): Promise<void> {
    if (params.has('status')) listFilters.status = params.get('status') ?? '';
    if (params.has('agency')) listFilters.agency = params.get('agency') ?? '';
    if (params.has('overdue')) listFilters.overdue = params.get('overdue') === '1';
    const statusSel = select('status', [['', t('co.allStatuses')], ...STATUSES.map((s) => [s, statusLabel(s)] as [string, string])], listFilters.status, { 'data-testid': 'co-f-status' });
    const agencyIn = h('input', { name: 'agency', list: 'co-agencies', value: listFilters.agency, 'data-testid': 'co-f-agency', autocomplete: 'off' });
    const overdueIn = h('input', { type: 'checkbox', name: 'overdue', checked: listFilters.overdue, 'data-testid': 'co-f-overdue' });
    const lists = h('datalist', { id: 'co-agencies' });
    const form = h(
      'form',
      { class: 'toolbar co-toolbar', 'data-testid': 'co-filters' },
      h('label', { class: 'tb-field' }, h('span', null, t('co.status')), statusSel),
      h('label', { class: 'tb-field' }, h('span', null, t('co.agency')), agencyIn),
      h('label', { class: 'tb-check' }, overdueIn, ' ', t('co.overdueOnly')),
      h('div', { class: 'tb-actions' }, h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'co-f-apply' }, t('common.apply'))),
      lists,
    );
    const out = h('div', { 'aria-live': 'polite' });
    replace(content, form, out);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      listFilters.status = statusSel.value;
      listFilters.agency = agencyIn.value.trim();
      listFilters.overdue = overdueIn.checked;
      void load();
    });
    statusSel.addEventListener('change', () => form.requestSubmit());
    overdueIn.addEventListener('change', () => form.requestSubmit());

    const load = async () => {
      replace(out, loading());
      try {
        const r = await getJson<{ today: string; assignments: Assignment[] }>(
          `/assignments${qs({ status: listFilters.status, agency: listFilters.agency, overdue: listFilters.overdue ? 'true' : '' })}`,
        );
        await Promise.all([...new Set(r.assignments.map((a) => a.body_id))].map((b) => meetingsOf(b).catch(() => [])));
        if (disposed) return;
        replace(lists, ...(await agencyList(r.assignments)).map((v) => h('option', { value: v })));
        replace(out, listPanel(r.assignments));
      } catch (e) {
        if (!disposed) replace(out, errorBox(e));
      }
    };
    await load();
  }

  function listPanel(list: Assignment[]): HTMLElement {
    const title = `${t('co.tab.list')} (${fmtInt(list.length)})`;
    if (list.length === 0) return panel(title, message('info', t('co.noAssignments')), undefined, 'co-list');
    const tbl = h(
      'table',
      { class: 'data co-table', 'data-testid': 'co-table' },
      h('caption', { class: 'visually-hidden' }, t('co.tab.list')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [t('co.number'), t('co.text'), t('co.executor'), t('co.coExecutors'), t('co.controllerShort'), t('co.dueOn'), t('co.daysLeft'), t('co.status'), t('co.priority'), t('co.source')].map((c, i) =>
            h('th', { scope: 'col', class: i === 0 || i === 6 ? 'num' : '' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        list.map((a) =>
          h(
            'tr',
            { class: a.overdue ? 'overdue' : '', 'data-id': a.id, 'data-overdue': a.overdue ? 'true' : 'false', 'data-status': a.status },
            h('td', { class: 'num' }, assignmentLink(a.id, String(a.id))),
            h('td', { class: 'co-text-cell' }, assignmentLink(a.id, clip(a.text, 140)), a.parent_id !== null ? h('div', { class: 'small muted' }, t('co.subOf', { id: a.parent_id })) : null),
            h('td', null, a.executor, a.executor_person ? h('div', { class: 'small muted' }, a.executor_person) : null),
            h('td', null, a.co_executors.length ? a.co_executors.join(', ') : t('common.none')),
            h('td', null, a.controller),
            h('td', { class: 'co-due-cell' }, h('span', { class: 'nowrap' }, fmtDate(a.due_on)), parseDeadline(a.deadline)?.kind === 'recurring' ? h('div', { class: 'small muted' }, deadlineText(a.deadline)) : null),
            h('td', { class: `num nowrap ${a.overdue ? 'late' : ''}` }, daysLeftText(a.days_left)),
            h('td', null, statusBadge(a.status)),
            h('td', null, priorityBadge(a.priority)),
            h('td', { class: 'small co-source-cell', title: sourceText(a) }, sourceText(a, 48)),
          ),
        ),
      ),
    );
    return panel(
      title,
      h('div', { class: 'table-scroll-x' }, tbl),
      {
        csv: () =>
          downloadCsv(
            `assignments_${todayIso()}.csv`,
            ['id', 'text', 'executor', 'co_executors', 'controller', 'deadline', 'due_on', 'days_left', 'status', 'priority', 'overdue', 'source'],
            list.map((a) => [a.id, a.text, a.executor, a.co_executors.join('; '), a.controller, a.deadline, a.due_on, a.days_left, a.status, a.priority, a.overdue, sourceText(a)]),
          ),
        csvTestid: 'co-list-csv',
      },
      'co-list',
    );
  }

  // ---- New assignment ----
  async function showNew(): Promise<void> {
    if (!mayManage) {
      replace(content, message('error', t('co.onlyManagers')));
      return;
    }
    const all = (await getJson<{ assignments: Assignment[] }>('/assignments')).assignments;
    if (disposed) return;
    if (bodies.length === 0) {
      replace(content, message('info', t('co.needBody'), ' ', h('a', { href: '#/coordination?tab=bodies' }, t('co.tab.bodies'))));
      return;
    }
    const parentId = Number(params.get('parent') ?? '') || null;
    const parent = parentId !== null ? all.find((a) => a.id === parentId) : undefined;
    const agencies = await agencyList(all);

    const bodySel = select('body_id', bodies.map((b) => [String(b.id), `${b.name} (${bodyKindLabel(b.kind)})`]), String(parent?.body_id ?? params.get('body') ?? bodies[0].id), { 'data-testid': 'co-new-body', required: true });
    const meetingSel = select('meeting_id', [['', t('co.noMeeting')]], '', { 'data-testid': 'co-new-meeting' });
    const item = h('input', { name: 'item', value: parent?.item ?? params.get('item') ?? '', maxlength: 20, list: 'co-new-items', 'data-testid': 'co-new-item', autocomplete: 'off' });
    const itemList = h('datalist', { id: 'co-new-items' });
    const itemText = h('small', { class: 'hint co-item-text', 'data-testid': 'co-new-item-text' }, t('co.itemHint'));
    /** The protocol items of the chosen meeting (none on servers without them). */
    let protocol: { number: string; text: string }[] = [];
    const syncItem = () => {
      const v = item.value.trim();
      const hit = protocol.find((p) => p.number === v) ?? protocol.find((p) => v && itemCovers(p.number, v));
      itemText.textContent = hit ? hit.text : protocol.length ? t('co.itemPick', { list: protocol.map((p) => p.number).join(', ') }) : t('co.itemHint');
    };
    item.addEventListener('input', syncItem);
    const text = h('textarea', { name: 'text', rows: 3, required: true, maxlength: 4000, class: 'prose', 'data-testid': 'co-new-text' });
    const executor = h('input', { name: 'executor', list: 'co-new-agencies', required: true, autocomplete: 'off', 'data-testid': 'co-new-executor' });
    const person = h('input', { name: 'executor_person', autocomplete: 'off', 'data-testid': 'co-new-person' });
    const coExec = h('input', { name: 'co_executors', autocomplete: 'off', 'data-testid': 'co-new-co' });
    const controller = h('input', { name: 'controller', required: true, value: me.login, autocomplete: 'off', 'data-testid': 'co-new-controller' });
    const fixedRadio = h('input', { type: 'radio', name: 'deadline_kind', value: 'fixed', checked: true, 'data-testid': 'co-new-deadline-fixed' });
    const recurRadio = h('input', { type: 'radio', name: 'deadline_kind', value: 'recurring', 'data-testid': 'co-new-deadline-recurring' });
    const date = h('input', { type: 'date', name: 'due', value: addDays(todayIso(), 30), 'data-testid': 'co-new-date' });
    const every = select('every', RECURRENCES.map((r) => [r, t(`rec.${r}` as Key)]), 'quarterly', { 'data-testid': 'co-new-every' });
    const day = h('input', { type: 'number', name: 'day', min: 1, max: 28, value: 5, 'data-testid': 'co-new-day' });
    const priority = select('priority', PRIORITIES.map((p) => [p, priorityLabel(p)]), 'normal', { 'data-testid': 'co-new-priority' });
    const place = h('input', { name: 'place', autocomplete: 'off', placeholder: t('co.placeExample'), 'data-testid': 'co-new-place' });
    const parentSel = select(
      'parent_id',
      [['', t('co.noParent')], ...all.filter((a) => a.status !== 'cancelled').map((a) => [String(a.id), `№ ${a.id} — ${clip(a.text, 70)}`] as [string, string])],
      parentId !== null ? String(parentId) : '',
      { 'data-testid': 'co-new-parent' },
    );
    const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
    const issueBtn = h('button', { type: 'submit', class: 'btn-primary', value: 'issue', 'data-testid': 'co-new-issue' }, t('co.createIssue'));
    const draftBtn = h('button', { type: 'submit', class: 'btn', value: 'draft', 'data-testid': 'co-new-draft' }, t('co.createDraft'));

    const fixedBox = h('div', { class: 'co-deadline-fixed form-grid' }, field(t('co.dueDate'), date));
    const recurBox = h('div', { class: 'co-deadline-recurring form-grid' }, field(t('co.every'), every), field(t('co.byDay'), day, t('co.byDayHint')));
    const syncDeadline = () => {
      fixedBox.hidden = !fixedRadio.checked;
      recurBox.hidden = fixedRadio.checked;
    };
    fixedRadio.addEventListener('change', syncDeadline);
    recurRadio.addEventListener('change', syncDeadline);
    syncDeadline();

    const loadMeetings = async () => {
      const list = await meetingsOf(Number(bodySel.value)).catch(() => [] as Meeting[]);
      replace(meetingSel, h('option', { value: '' }, t('co.noMeeting')), list.map((m) => h('option', { value: String(m.id) }, t('co.meetingOption', { number: m.number, date: fmtDate(m.held_on) }))));
      const want = parent?.meeting_id ?? (params.get('meeting') ? Number(params.get('meeting')) : null);
      if (want !== null && list.some((m) => m.id === want)) meetingSel.value = String(want);
      else if (list.length) meetingSel.value = String(list[list.length - 1].id);
      syncMeeting();
    };
    const syncMeeting = () => {
      const m = meetings.get(Number(bodySel.value))?.find((x) => String(x.id) === meetingSel.value);
      protocol = m?.items ?? [];
      replace(itemList, protocol.map((p) => h('option', { value: p.number }, clip(p.text, 90))));
      syncItem();
    };
    bodySel.addEventListener('change', () => void loadMeetings());
    meetingSel.addEventListener('change', syncMeeting);
    await loadMeetings();

    const form = h(
      'form',
      { class: 'card co-form', 'data-testid': 'co-new-form', novalidate: true },
      h('h3', null, parent ? t('co.newSub', { id: parent.id }) : t('co.newTitle')),
      h('fieldset', { class: 'co-fieldset' }, h('legend', null, t('co.sourceLegend')), h('div', { class: 'form-grid' }, field(t('co.body'), bodySel), field(t('co.meeting'), meetingSel), h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('co.item')), item, itemText), itemList)),
      field(t('co.text'), text),
      h(
        'div',
        { class: 'form-grid' },
        field(t('co.executor'), executor, t('co.executorHint')),
        field(t('co.executorPerson'), person),
        field(t('co.coExecutors'), coExec, t('co.coExecutorsHint')),
        field(t('co.controller'), controller, t('co.controllerHint')),
      ),
      h(
        'fieldset',
        { class: 'co-fieldset' },
        h('legend', null, t('co.deadline')),
        h('div', { class: 'radios' }, h('label', null, fixedRadio, ' ', t('co.deadlineFixed')), h('label', null, recurRadio, ' ', t('co.deadlineRecurring'))),
        fixedBox,
        recurBox,
      ),
      h('div', { class: 'form-grid' }, field(t('co.priority'), priority), field(t('co.place'), place, t('co.placeHint')), field(t('co.parent'), parentSel)),
      datalist('co-new-agencies', agencies),
      status,
      h('div', { class: 'form-actions' }, issueBtn, draftBtn),
    );
    replace(content, form);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const draft = (ev as SubmitEvent).submitter === draftBtn;
      replace(status);
      const spec: DeadlineSpec = fixedRadio.checked ? { kind: 'fixed', date: date.value } : { kind: 'recurring', every: every.value as Recurrence, day: Number(day.value) };
      const deadline = deadlineString(spec);
      const problems: string[] = [];
      if (!text.value.trim()) problems.push(t('co.needText'));
      if (!executor.value.trim()) problems.push(t('co.needExecutor'));
      if (!controller.value.trim()) problems.push(t('co.needController'));
      if (!deadline) problems.push(fixedRadio.checked ? t('co.needDate') : t('co.needDay'));
      const co = splitList(coExec.value);
      if (co.includes(executor.value.trim())) problems.push(t('co.coIsExecutor'));
      if (problems.length) {
        replace(status, h('div', { 'data-testid': 'co-new-error' }, message('error', problems.join(' '))));
        return;
      }
      issueBtn.disabled = draftBtn.disabled = true;
      try {
        const a = await postJson<Assignment>('/assignments', {
          body_id: Number(bodySel.value),
          meeting_id: meetingSel.value ? Number(meetingSel.value) : null,
          parent_id: parentSel.value ? Number(parentSel.value) : null,
          item: item.value.trim(),
          text: text.value.trim(),
          executor: executor.value.trim(),
          executor_person: person.value.trim() || null,
          co_executors: co,
          controller: controller.value.trim(),
          deadline,
          priority: priority.value,
          place: place.value.trim() || null,
          draft,
        });
        if (disposed) return;
        location.hash = `#/coordination?assignment=${a.id}&created=1`;
      } catch (e) {
        if (!disposed) replace(status, serverError(e, 'co-new-error'));
      } finally {
        issueBtn.disabled = draftBtn.disabled = false;
      }
    });
    queueMicrotask(() => text.focus());
  }

  // ---- One assignment ----
  async function showDetail(id: number, flash?: HTMLElement): Promise<void> {
    if (!Number.isInteger(id) || id <= 0) {
      replace(content, message('error', t('co.notFound')));
      return;
    }
    let a: AssignmentDetail;
    try {
      a = await getJson<AssignmentDetail>(`/assignments/${id}`);
    } catch (e) {
      if (disposed) return;
      replace(content, e instanceof ApiError && e.status === 404 ? message('error', t('co.notFound')) : errorBox(e));
      return;
    }
    const [children] = await Promise.all([
      getJson<{ assignments: Assignment[] }>('/assignments').then((r) => r.assignments.filter((x) => x.parent_id === id)).catch(() => [] as Assignment[]),
      meetingsOf(a.body_id).catch(() => []),
    ]);
    if (disposed) return;
    const reload = (note?: HTMLElement) => showDetail(id, note);
    const created = params.get('created') === '1' && !flash;

    const allowed = allowedActions(who, a);
    const actionsBox = h('div', { class: 'co-actions', 'data-testid': 'co-actions' });
    const out = h('div', { class: 'co-flash', 'aria-live': 'polite' }, flash ?? (created ? h('div', { 'data-testid': 'co-created' }, message('ok', t('co.created', { id }))) : null));
    const say = (node: HTMLElement) => replace(out, node);

    /** Runs a write, then shows the assignment again with the outcome. */
    const act = async (btns: HTMLButtonElement[], fn: () => Promise<unknown>, done: string) => {
      for (const b of btns) b.disabled = true;
      try {
        await fn();
        if (disposed) return;
        const ok = message('ok', done);
        ok.setAttribute('data-testid', 'co-done');
        await reload(ok);
        void refreshBell();
      } catch (e) {
        if (disposed) return;
        if (e instanceof ApiError && e.status === 409 && e.message.includes('changed since')) {
          // A stale version: show the assignment as it is now, with why.
          await reload(h('div', { 'data-testid': 'co-stale' }, message('error', t('co.changedMeanwhile'))));
          return;
        }
        say(serverError(e, 'co-error'));
      } finally {
        for (const b of btns) b.disabled = false;
      }
    };
    // Every change names the version it was made on: if someone changed the assignment meanwhile
    // (here or through another instance) the server refuses with 409 and the page reloads it.
    const onVersion = { ifMatch: `"${a.version}"` };
    const actionPost = (action: string, note: string) => postJson(`/assignments/${id}/actions`, { action, note }, onVersion);

    // Issue / cancel (author or controller among the managers).
    if (allowed.issue || allowed.cancel) {
      const note = h('input', { name: 'note', autocomplete: 'off', 'data-testid': 'co-act-note' });
      const issue = allowed.issue ? h('button', { type: 'button', class: 'btn-primary', 'data-testid': 'co-act-issue' }, t('co.act.issue')) : null;
      const cancel = allowed.cancel ? h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'co-act-cancel' }, t('co.act.cancel')) : null;
      const btns = [issue, cancel].filter((b): b is HTMLButtonElement => !!b);
      issue?.addEventListener('click', () => void act(btns, () => actionPost('issue', note.value.trim()), t('co.done.issue')));
      cancel?.addEventListener('click', () => void act(btns, () => actionPost('cancel', note.value.trim()), t('co.done.cancel')));
      actionsBox.appendChild(h('section', { class: 'co-action card', 'data-testid': 'co-manage' }, h('h4', null, t('co.manageTitle')), field(t('co.comment'), note), h('div', { class: 'form-actions' }, btns)));
    }

    // The controller: accept or return the report.
    if (allowed.review) {
      const note = h('textarea', { name: 'note', rows: 2, class: 'prose', 'data-testid': 'co-review-note' });
      const accept = h('button', { type: 'button', class: 'btn-primary', 'data-testid': 'co-act-accept' }, t('co.act.accept'));
      const ret = h('button', { type: 'button', class: 'btn', 'data-testid': 'co-act-return' }, t('co.act.return'));
      accept.addEventListener('click', () => void act([accept, ret], () => actionPost('accept', note.value.trim()), t('co.done.accept')));
      ret.addEventListener('click', () => {
        if (!note.value.trim()) {
          say(h('div', { 'data-testid': 'co-error' }, message('error', t('co.needComment'))));
          note.focus();
          return;
        }
        void act([accept, ret], () => actionPost('return', note.value.trim()), t('co.done.return'));
      });
      actionsBox.appendChild(h('section', { class: 'co-action card', 'data-testid': 'co-review' }, h('h4', null, t('co.reviewTitle')), h('p', { class: 'hint' }, t('co.reviewHint')), field(t('co.comment'), note), h('div', { class: 'form-actions' }, accept, ret)));
    }

    // The controller: the pending extension request.
    const pending = pendingExtension(a);
    if (allowed.decideExtension && pending) {
      const note = h('input', { name: 'note', autocomplete: 'off', 'data-testid': 'co-ext-note' });
      const grant = h('button', { type: 'button', class: 'btn-primary', 'data-testid': 'co-ext-grant' }, t('co.act.grant'));
      const refuse = h('button', { type: 'button', class: 'btn', 'data-testid': 'co-ext-refuse' }, t('co.act.refuse'));
      const decide = (g: boolean) => act([grant, refuse], () => postJson(`/assignments/${id}/extensions/decision`, { grant: g, note: note.value.trim() }, onVersion), g ? t('co.done.granted') : t('co.done.refused'));
      grant.addEventListener('click', () => void decide(true));
      refuse.addEventListener('click', () => void decide(false));
      actionsBox.appendChild(
        h(
          'section',
          { class: 'co-action card', 'data-testid': 'co-decide' },
          h('h4', null, t('co.decideTitle')),
          h('p', null, t('co.pendingText', { who: pending.requested_by, date: fmtDate(pending.new_due_on), reason: pending.reason })),
          field(t('co.comment'), note),
          h('div', { class: 'form-actions' }, grant, refuse),
        ),
      );
    }

    // The executor: the report with its attachments.
    if (allowed.report) {
      const text = h('textarea', { name: 'text', rows: 4, required: true, class: 'prose', 'data-testid': 'co-report-text' });
      const files = h('input', { type: 'file', name: 'file', multiple: true, tabindex: -1, accept: '.pdf,.png,.jpg,.jpeg,.txt,.csv,.docx', 'data-testid': 'co-report-files' });
      const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'co-report-submit' }, t('co.act.report'));
      const form = h(
        'form',
        { class: 'co-action card', 'data-testid': 'co-report-form' },
        h('h4', null, a.status === 'returned' ? t('co.reportAgainTitle') : t('co.reportTitle')),
        field(t('co.reportText'), text),
        field(t('co.attachments'), filePicker(files, t('co.chooseFiles'), t('imp.noFile')), t('co.attachmentsHint')),
        h('div', { class: 'form-actions' }, submit),
      );
      files.addEventListener('change', () => {
        const n = files.files?.length ?? 0;
        const name = form.querySelector('.file-name');
        if (name && n > 1) name.textContent = t('co.filesChosen', { n });
      });
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!text.value.trim()) {
          say(h('div', { 'data-testid': 'co-error' }, message('error', t('co.needReportText'))));
          text.focus();
          return;
        }
        const chosen = [...(files.files ?? [])];
        const big = chosen.find((f) => f.size > MAX_ATTACHMENT || f.size === 0);
        if (big) {
          say(h('div', { 'data-testid': 'co-error' }, message('error', t('co.badFile', { name: big.name }))));
          return;
        }
        const fd = new FormData();
        fd.append('text', text.value.trim());
        for (const f of chosen) fd.append('file', f, f.name);
        void act([submit], () => request(`/assignments/${id}/reports`, { method: 'POST', form: fd, ...onVersion }), t('co.done.report'));
      });
      actionsBox.appendChild(form);
    }

    // The executor: more time.
    if (allowed.requestExtension) {
      const dateIn = h('input', { type: 'date', name: 'new_due_on', min: addDays(a.due_on, 1), value: addDays(a.due_on, 14), required: true, 'data-testid': 'co-ext-date' });
      const reason = h('input', { name: 'reason', required: true, autocomplete: 'off', 'data-testid': 'co-ext-reason' });
      const submit = h('button', { type: 'submit', class: 'btn', 'data-testid': 'co-ext-submit' }, t('co.act.askExtension'));
      const form = h(
        'form',
        { class: 'co-action card', 'data-testid': 'co-ext-form' },
        h('h4', null, t('co.extTitle')),
        h('div', { class: 'form-grid' }, field(t('co.newDueOn'), dateIn), field(t('co.reason'), reason)),
        h('div', { class: 'form-actions' }, submit),
      );
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!isIsoDate(dateIn.value) || dateIn.value <= a.due_on) {
          say(h('div', { 'data-testid': 'co-error' }, message('error', t('co.needLaterDate', { date: fmtDate(a.due_on) }))));
          return;
        }
        if (!reason.value.trim()) {
          say(h('div', { 'data-testid': 'co-error' }, message('error', t('co.needReason'))));
          reason.focus();
          return;
        }
        void act([submit], () => postJson(`/assignments/${id}/extensions`, { new_due_on: dateIn.value, reason: reason.value.trim() }, onVersion), t('co.done.asked'));
      });
      actionsBox.appendChild(form);
    } else if (pending && !allowed.decideExtension) {
      actionsBox.appendChild(message('info', t('co.pendingText', { who: pending.requested_by, date: fmtDate(pending.new_due_on), reason: pending.reason })));
    }
    if (!actionsBox.firstChild) actionsBox.appendChild(h('p', { class: 'hint', 'data-testid': 'co-no-actions' }, t('co.noActions')));
    if (mayManage && a.status !== 'cancelled') {
      actionsBox.appendChild(h('p', { class: 'co-sub-link' }, h('a', { href: `#/coordination?tab=new&parent=${id}`, 'data-testid': 'co-new-sub' }, t('co.createSub'))));
    }

    // ---- Fields ----
    const meeting = a.meeting_id !== null ? meetings.get(a.body_id)?.find((m) => m.id === a.meeting_id) : undefined;
    const kv: [string, Child][] = [
      [t('co.text'), h('div', { class: 'co-text', 'data-testid': 'co-text' }, a.text)],
      [t('co.body'), bodyName(a.body_id)],
      [t('co.meeting'), meeting ? t('co.meetingOption', { number: meeting.number, date: fmtDate(meeting.held_on) }) : t('common.none')],
      [t('co.item'), a.item || t('common.none')],
      [t('co.executor'), [a.executor, a.executor_person ? ` (${a.executor_person})` : '']],
      [t('co.coExecutors'), a.co_executors.length ? a.co_executors.join(', ') : t('common.none')],
      [t('co.controller'), a.controller],
      [t('co.author'), a.author],
      [t('co.deadline'), deadlineText(a.deadline)],
      [t('co.currentDue'), h('span', { 'data-testid': 'co-due' }, fmtDate(a.due_on))],
      [t('co.daysLeft'), h('span', { class: a.overdue ? 'late' : '' }, daysLeftText(a.days_left))],
      [t('co.priority'), priorityBadge(a.priority)],
      [t('co.place'), a.place ?? t('common.none')],
      [t('co.parent'), a.parent_id !== null ? assignmentLink(a.parent_id) : t('common.none')],
    ];
    if (children.length) kv.push([t('co.children'), children.map((c, i) => [i ? ', ' : '', assignmentLink(c.id), ' ', statusBadge(c.status)])]);
    const fields = h(
      'table',
      { class: 'kv co-kv', 'data-testid': 'co-fields' },
      h('caption', { class: 'visually-hidden' }, t('co.fields')),
      h('tbody', null, kv.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)))),
    );

    // ---- Extension requests ----
    const extPanel = panel(
      `${t('co.extensions')} (${fmtInt(a.extensions.length)})`,
      a.extensions.length
        ? h(
            'table',
            { class: 'data', 'data-testid': 'co-extensions' },
            h('thead', null, h('tr', null, [t('co.requestedBy'), t('co.newDueOn'), t('co.reason'), t('co.decision'), t('co.decidedBy'), t('co.comment')].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              null,
              a.extensions.map((x) => {
                const d = x.granted === null || x.granted === undefined ? 'pending' : x.granted ? 'granted' : 'refused';
                return h(
                  'tr',
                  { 'data-decision': d },
                  h('td', null, x.requested_by),
                  h('td', { class: 'nowrap' }, fmtDate(x.new_due_on)),
                  h('td', null, x.reason),
                  h('td', null, h('span', { class: `badge ext-${d}` }, t(`co.ext.${d}` as Key))),
                  h('td', null, x.decided_by ?? t('common.none')),
                  h('td', null, x.note || t('common.none')),
                );
              }),
            ),
          )
        : h('p', { class: 'hint' }, t('co.noExtensions')),
      undefined,
      'co-extensions-panel',
    );

    // ---- Reports ----
    const reportsPanel = panel(
      `${t('co.reports')} (${fmtInt(a.reports.length)})`,
      a.reports.length
        ? h(
            'ol',
            { class: 'co-reports', 'data-testid': 'co-reports' },
            a.reports.map((r) =>
              h(
                'li',
                { 'data-report': r.id },
                h('div', { class: 'co-report-head' }, h('b', null, r.submitted_by), ' · ', fmtEpoch(r.submitted_at), ' · ', t('co.answeredDue', { date: fmtDate(r.due_on) })),
                h('div', { class: 'co-text' }, r.text),
                r.attachments.length
                  ? h(
                      'ul',
                      { class: 'co-attachments' },
                      r.attachments.map((f) =>
                        h(
                          'li',
                          null,
                          h('a', { href: `/api/v1/assignments/${id}/attachments/${f.id}`, download: f.file_name, 'data-testid': 'co-attachment' }, f.file_name),
                          ' ',
                          h('span', { class: 'small muted' }, `(${fmtSize(f.size)}, SHA-256 ${f.sha256.slice(0, 12)}…)`),
                        ),
                      ),
                    )
                  : null,
              ),
            ),
          )
        : h('p', { class: 'hint' }, t('co.noReports')),
      undefined,
      'co-reports-panel',
    );

    // ---- History ----
    const history = panel(
      `${t('co.history')} (${fmtInt(a.events.length)})`,
      h(
        'table',
        { class: 'data', 'data-testid': 'co-events' },
        h('thead', null, h('tr', null, [t('co.when'), t('co.who'), t('co.what'), t('co.status'), t('co.dueOn'), t('co.comment')].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          a.events.map((e) =>
            h(
              'tr',
              { 'data-action': e.action },
              h('td', { class: 'nowrap' }, fmtEpoch(e.at)),
              h('td', null, e.actor),
              h('td', null, eventLabel(e.action)),
              h('td', { class: 'nowrap' }, e.from && e.from !== e.to ? [statusBadge(e.from), ' → '] : null, statusBadge(e.to)),
              h('td', { class: 'nowrap' }, fmtDate(e.due_on)),
              h('td', null, eventNote(e.action, e.note)),
            ),
          ),
        ),
      ),
      undefined,
      'co-history',
    );

    replace(
      content,
      h(
        'div',
        { class: 'co-detail', 'data-testid': 'co-detail', 'data-id': id, 'data-status': a.status },
        h(
          'div',
          { class: 'co-detail-head' },
          h('h3', null, t('co.assignmentN', { id })),
          h('span', { 'data-testid': 'co-status', 'data-status': a.status }, statusBadge(a.status)),
          a.overdue ? h('span', { class: 'badge late-badge', 'data-testid': 'co-overdue' }, t('co.overdueBadge')) : null,
          h('a', { href: '#/coordination?tab=list', class: 'co-back' }, t('co.backToList')),
        ),
        out,
        h('div', { class: 'co-detail-grid' }, panel(t('co.fields'), fields, undefined, 'co-fields-panel'), h('div', null, panel(t('co.actions'), actionsBox, undefined, 'co-actions-panel'))),
        extPanel,
        reportsPanel,
        history,
      ),
    );
  }

  // ---- Bodies and meetings ----
  async function showBodies(): Promise<void> {
    const selected = Number(params.get('body') ?? '') || null;
    const agencies = await agencyList([]);
    if (disposed) return;
    const bodyTable = bodies.length
      ? h(
          'table',
          { class: 'data co-bodies-table', 'data-testid': 'co-bodies' },
          h('caption', { class: 'visually-hidden' }, t('co.bodies')),
          h('thead', null, h('tr', null, [t('co.bodyName'), t('co.bodyKind'), t('co.members'), ''].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            bodies.map((b) =>
              h(
                'tr',
                { 'data-body': b.name, class: b.id === selected ? 'selected' : '' },
                h('th', { scope: 'row' }, b.name),
                h('td', null, bodyKindLabel(b.kind)),
                h('td', null, b.members.length ? h('ul', { class: 'plain' }, b.members.map((m) => h('li', null, m.agency, m.person ? h('span', { class: 'muted' }, ` — ${m.person}`) : null))) : t('common.none')),
                h('td', { class: 'nowrap' }, h('a', { href: `#/coordination?tab=bodies&body=${b.id}`, class: 'btn-small', 'data-testid': `co-body-open-${b.id}`, 'aria-current': b.id === selected ? 'true' : null }, t('co.meetings'))),
              ),
            ),
          ),
        )
      : message('info', t('co.noBodies'));

    const meetingsBox = h('div');
    const body = selected !== null ? bodies.find((b) => b.id === selected) : undefined;
    if (body) await showMeetings(body, meetingsBox);
    if (disposed) return;

    replace(
      content,
      panel(`${t('co.bodies')} (${fmtInt(bodies.length)})`, bodyTable, undefined, 'co-bodies-panel'),
      meetingsBox,
      mayManage ? bodyForm(agencies) : null,
    );
  }

  function bodyForm(agencies: string[]): HTMLElement {
    const name = h('input', { name: 'name', required: true, maxlength: 300, autocomplete: 'off', 'data-testid': 'co-body-name' });
    const kind = select('kind', BODY_KINDS.map((k) => [k, bodyKindLabel(k)]), 'coordination_council', { 'data-testid': 'co-body-kind' });
    const rows = h('div', { class: 'co-members' });
    let n = 0;
    const addRow = () => {
      const i = n++;
      const agency = h('input', { name: `member_agency_${i}`, list: 'co-body-agencies', autocomplete: 'off', 'data-testid': `co-member-agency-${i}` });
      const person = h('input', { name: `member_person_${i}`, autocomplete: 'off', 'data-testid': `co-member-person-${i}` });
      const row = h('div', { class: 'co-member-row', 'data-member': i });
      const remove = h('button', { type: 'button', class: 'btn-small', 'aria-label': t('co.removeMember'), title: t('co.removeMember'), onclick: () => row.remove() }, '×');
      row.append(field(t('co.memberAgency'), agency), field(t('co.memberPerson'), person), remove);
      rows.appendChild(row);
      return agency;
    };
    addRow();
    const add = h('button', { type: 'button', class: 'btn-small', 'data-testid': 'co-member-add', onclick: () => addRow().focus() }, t('co.addMember'));
    const status = h('div', { class: 'form-status' });
    const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'co-body-submit' }, t('co.createBody'));
    const form = h(
      'form',
      { 'data-testid': 'co-body-form' },
      h('div', { class: 'form-grid grid-two' }, field(t('co.bodyName'), name), field(t('co.bodyKind'), kind)),
      h('fieldset', { class: 'co-fieldset' }, h('legend', null, t('co.members')), rows, add),
      datalist('co-body-agencies', agencies),
      status,
      h('div', { class: 'form-actions' }, submit),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      replace(status);
      if (!name.value.trim()) {
        replace(status, message('error', t('co.needName')));
        name.focus();
        return;
      }
      const members: [string, string][] = [...rows.querySelectorAll<HTMLElement>('.co-member-row')]
        .map((r) => {
          const [ag, pe] = [...r.querySelectorAll('input')].map((x) => x.value.trim());
          return [ag, pe] as [string, string];
        })
        .filter(([ag]) => ag);
      submit.disabled = true;
      try {
        const r = await postJson<{ id: number }>('/bodies', { name: name.value.trim(), kind: kind.value, members });
        if (disposed) return;
        location.hash = `#/coordination?tab=bodies&body=${r.id}`;
      } catch (e) {
        if (!disposed) replace(status, serverError(e, 'co-body-error'));
      } finally {
        submit.disabled = false;
      }
    });
    return panel(t('co.newBody'), form, undefined, 'co-body-form-panel');
  }

  async function showMeetings(body: CoordBody, box: HTMLElement): Promise<void> {
    meetings.delete(body.id);
    const [list, assignments] = await Promise.all([
      meetingsOf(body.id),
      getJson<{ assignments: Assignment[] }>(`/assignments${qs({ body: body.id })}`).then((r) => r.assignments).catch(() => [] as Assignment[]),
    ]);
    if (disposed) return;
    const itemsOf = (m: Meeting) =>
      assignments
        .filter((a) => a.meeting_id === m.id)
        .sort((x, y) => x.item.localeCompare(y.item, undefined, { numeric: true }) || x.id - y.id);
    const tbl = list.length
      ? h(
          'table',
          { class: 'data', 'data-testid': 'co-meetings' },
          h('thead', null, h('tr', null, [t('co.heldOn'), t('co.protocolNumber'), t('co.agenda'), t('co.protocolItems')].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            [...list]
              .sort((x, y) => y.held_on.localeCompare(x.held_on))
              .map((m) => {
                const items = itemsOf(m);
                const protocol = m.items ?? [];
                const under = (n: string) => items.filter((a) => itemCovers(n, a.item));
                const loose = items.filter((a) => !protocol.some((p) => itemCovers(p.number, a.item)));
                const line = (a: Assignment) => h('li', null, a.item ? h('b', null, `${a.item}. `) : null, assignmentLink(a.id, clip(a.text, 80)), ' ', statusBadge(a.status));
                return h(
                  'tr',
                  { 'data-meeting': m.number },
                  h('td', { class: 'nowrap' }, fmtDate(m.held_on)),
                  h('td', null, m.number),
                  h('td', { class: 'co-text' }, m.agenda || t('common.none')),
                  h(
                    'td',
                    null,
                    protocol.length
                      ? h(
                          'ol',
                          { class: 'co-protocol', 'data-testid': 'co-protocol' },
                          protocol.map((p) =>
                            h(
                              'li',
                              { 'data-item': p.number },
                              h('b', null, `${p.number}. `),
                              p.text,
                              under(p.number).length ? h('ul', { class: 'plain co-item-assignments' }, under(p.number).map(line)) : null,
                              mayManage ? [' ', h('a', { href: `#/coordination?tab=new&body=${body.id}&meeting=${m.id}&item=${enc(p.number)}`, class: 'small' }, t('co.assignItem'))] : null,
                            ),
                          ),
                        )
                      : null,
                    loose.length ? h('ul', { class: 'plain' }, loose.map(line)) : null,
                    !protocol.length && !loose.length ? h('span', { class: 'muted' }, t('common.none')) : null,
                    mayManage ? h('div', null, h('a', { href: `#/coordination?tab=new&body=${body.id}&meeting=${m.id}`, class: 'small' }, t('co.addItem'))) : null,
                  ),
                );
              }),
          ),
        )
      : message('info', t('co.noMeetings'));

    let form: HTMLElement | null = null;
    if (mayManage) {
      const held = h('input', { type: 'date', name: 'held_on', value: todayIso(), required: true, 'data-testid': 'co-meeting-date' });
      const number = h('input', { name: 'number', required: true, autocomplete: 'off', 'data-testid': 'co-meeting-number' });
      const agenda = h('textarea', { name: 'agenda', rows: 3, class: 'prose', 'data-testid': 'co-meeting-agenda' });
      const rows = h('div', { class: 'co-items' });
      let n = 0;
      const addRow = () => {
        const i = n++;
        const num = h('input', { name: `item_number_${i}`, value: String(rows.children.length + 1), autocomplete: 'off', class: 'co-item-number', 'data-testid': `co-pitem-number-${i}` });
        const text = h('input', { name: `item_text_${i}`, autocomplete: 'off', 'data-testid': `co-pitem-text-${i}` });
        const row = h('div', { class: 'co-member-row co-item-row' });
        const remove = h('button', { type: 'button', class: 'btn-small', 'aria-label': t('co.removeItem'), title: t('co.removeItem'), onclick: () => row.remove() }, '×');
        row.append(field(t('co.itemNumber'), num), field(t('co.itemDecision'), text), remove);
        rows.appendChild(row);
        return text;
      };
      addRow();
      const addItem = h('button', { type: 'button', class: 'btn-small', 'data-testid': 'co-pitem-add', onclick: () => addRow().focus() }, t('co.addProtocolItem'));
      const status = h('div', { class: 'form-status' });
      const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'co-meeting-submit' }, t('co.addMeeting'));
      form = h(
        'form',
        { class: 'co-meeting-form', 'data-testid': 'co-meeting-form' },
        h('h4', null, t('co.newMeeting')),
        h('div', { class: 'form-grid' }, field(t('co.heldOn'), held), field(t('co.protocolNumber'), number)),
        field(t('co.agenda'), agenda),
        h('fieldset', { class: 'co-fieldset' }, h('legend', null, t('co.protocolItems')), rows, addItem),
        status,
        h('div', { class: 'form-actions' }, submit),
      );
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        replace(status);
        if (!isIsoDate(held.value) || !number.value.trim()) {
          replace(status, message('error', t('co.needMeeting')));
          return;
        }
        const items = [...rows.querySelectorAll<HTMLElement>('.co-item-row')]
          .map((r) => {
            const [num, text] = [...r.querySelectorAll('input')].map((x) => x.value.trim());
            return { number: num, text };
          })
          .filter((x) => x.text);
        if (items.some((x) => !x.number)) return replace(status, message('error', t('co.needItemNumber')));
        if (new Set(items.map((x) => x.number)).size !== items.length) return replace(status, message('error', t('co.itemTwice')));
        submit.disabled = true;
        try {
          await postJson('/bodies/' + body.id + '/meetings', { held_on: held.value, number: number.value.trim(), agenda: agenda.value.trim(), items });
          if (disposed) return;
          await showMeetings(body, box);
          box.querySelector('[data-testid=co-meetings-panel] .panel-body')?.prepend(message('ok', t('co.meetingAdded')));
        } catch (e) {
          if (!disposed) replace(status, serverError(e, 'co-meeting-error'));
        } finally {
          submit.disabled = false;
        }
      });
    }
    replace(box, panel(t('co.meetingsOf', { name: body.name }), h('div', null, tbl, form), undefined, 'co-meetings-panel'));
  }

  return () => {
    disposed = true;
  };
}

function clip(s: string, n: number): string {
  const x = s.replace(/\s+/g, ' ').trim();
  return x.length > n ? `${x.slice(0, n - 1)}…` : x;
}

/** An event's note; the server writes an extension request's as "to YYYY-MM-DD: reason". */
function eventNote(action: string, note: string): string {
  const m = action === 'extension_request' ? /^to (\d{4}-\d{2}-\d{2}): ([\s\S]*)$/.exec(note) : null;
  return m ? t('co.extNote', { date: fmtDate(m[1]), reason: m[2] }) : note;
}

function fmtSize(bytes: number): string {
  if (bytes < 1024) return t('co.bytes', { n: fmtInt(bytes) });
  return t('co.kb', { n: fmtInt(Math.max(1, Math.round(bytes / 1024))) });
}
