// Protected facilities and terrorism threat levels, per territory: the level in force as a
// coloured banner; the declarations (declare, extend, lift: administrators and commanders) with
// their checklists and readiness per facility category and per district; the facility register
// with inspections whose findings become assignments; the measures table each level requires.
//
// Sub-views: #/facilities?tab=levels|register|measures (the territory is kept in the shared filters).

import {
  ApiError,
  enc,
  getJson,
  postJson,
  qs,
  request,
  type CameraUploadRejected,
  type Checklist,
  type CoordBody,
  type Declaration,
  type FacilityCollection,
  type FacilityProps,
  type Inspection,
  type Measure,
  type Territory,
  type ThreatLevels,
} from '../api';
import { field, h, replace, select, type Child } from '../dom';
import { downloadBlob, downloadCsv, fileSlug } from '../export';
import { fmtPct } from '../forecast';
import { fmtInt, t } from '../i18n';
import { isRejected, registerContentType, registerFormat, rejectTotal } from '../planning';
import {
  EQUIPMENT,
  THREAT_LEVELS,
  addDays,
  equipmentLabel,
  facilityCategoryLabel,
  fmtDate,
  fmtEpoch,
  isIsoDate,
  levelLabel,
  measuresCsv,
  passportState,
  sortMeasures,
  todayIso,
} from '../coordination';
import { can, defaultTerritory, filters, role, session, territories } from '../state';
import { errorBox, filePicker, loading, message, pageTitle, panel, serverError, tabLinks } from '../ui';

type Tab = 'levels' | 'register' | 'measures';

/** The declaration whose checklist is shown, per territory (kept while the application is open). */
const shownChecklist = new Map<string, number>();

export async function render(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  let disposed = false;
  const me = session.me!;
  const wanted = (params.get('tab') ?? 'levels') as Tab;
  const tab: Tab = (['levels', 'register', 'measures'] as Tab[]).includes(wanted) ? wanted : 'levels';
  root.appendChild(loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    replace(root, errorBox(e));
    return () => {};
  }
  if (list.length === 0) {
    replace(root, message('info', t('common.noTerritories')));
    return () => {};
  }
  const fromParam = params.get('territory');
  filters.territory = fromParam && list.some((x) => x.name === fromParam) ? fromParam : defaultTerritory(list);
  const mayManage = can.coordinate(role());
  const mayDeclare = can.threatLevels(role());
  const mayCheck = can.checklist(role());

  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'fac-territory' });
  const toolbar = h('div', { class: 'toolbar fac-toolbar' }, h('label', { class: 'tb-field' }, h('span', null, t('common.territory')), terrSel));
  const banner = h('div', { class: 'thr-banner-box', 'aria-live': 'polite' });
  const content = h('div', { class: 'fac-content' });
  const tabs = tabLinks(
    [
      { key: 'levels', label: t('fac.tab.levels'), href: '#/facilities?tab=levels' },
      { key: 'register', label: t('fac.tab.register'), href: '#/facilities?tab=register' },
      { key: 'measures', label: t('fac.tab.measures'), href: '#/facilities?tab=measures' },
    ],
    tab,
    t('nav.facilities'),
    'fac-tab',
  );
  replace(root, toolbar, h('div', { class: 'dash fac' }, pageTitle(t('nav.facilities')), banner, tabs, content));

  let seq = 0;
  const territory = () => terrSel.value;
  const base = () => `/territories/${enc(territory())}`;

  async function load(): Promise<void> {
    const my = ++seq;
    replace(content, loading());
    try {
      const levels = await getJson<ThreatLevels>(`${base()}/threat-levels`);
      if (my !== seq || disposed) return;
      showBanner(levels);
      if (tab === 'levels') await showLevels(levels, my);
      else if (tab === 'register') await showRegister(my);
      else await showMeasures(my);
    } catch (e) {
      if (my !== seq || disposed) return;
      replace(banner);
      replace(content, errorBox(e));
    }
  }

  // ---- The level in force ----
  function showBanner(levels: ThreatLevels): void {
    const d = [...levels.declarations].reverse().find((x) => x.in_force);
    if (!d) {
      replace(banner, h('div', { class: 'thr-banner level-none', 'data-testid': 'thr-banner', 'data-level': 'none' }, t('thr.noneInForce', { territory: territory() })));
      return;
    }
    replace(
      banner,
      h(
        'div',
        { class: `thr-banner level-${d.level}`, 'data-testid': 'thr-banner', 'data-level': d.level, role: 'status' },
        h('b', null, t('thr.inForce', { territory: territory(), level: levelLabel(d.level) })),
        ' ',
        h('span', null, period(d)),
        d.reason ? h('div', { class: 'thr-reason' }, d.reason) : null,
      ),
    );
  }

  const period = (d: Declaration) => (d.ends_on ? t('thr.period', { from: fmtDate(d.starts_on), to: fmtDate(d.ends_on) }) : t('thr.periodOpen', { from: fmtDate(d.starts_on) }));
  const levelBadge = (lv: string) => h('span', { class: `badge lvl lvl-${lv}`, 'data-level': lv }, levelLabel(lv));
  const stateOf = (d: Declaration, today: string): string => (d.lifted_at ? 'lifted' : d.in_force ? 'in_force' : d.starts_on > today ? 'scheduled' : 'ended');

  // ---- Threat levels ----
  async function showLevels(levels: ThreatLevels, my: number): Promise<void> {
    const flash = h('div', { class: 'flash', 'aria-live': 'polite' });
    const checklistBox = h('div');
    const decls = [...levels.declarations].sort((a, b) => b.starts_on.localeCompare(a.starts_on) || b.id - a.id);
    const say = (n: HTMLElement) => replace(flash, n);
    const refresh = async (note?: HTMLElement) => {
      await load();
      if (note) content.querySelector('.flash')?.replaceChildren(note);
    };

    const history = decls.length
      ? h(
          'table',
          { class: 'data thr-history', 'data-testid': 'thr-history' },
          h('caption', { class: 'visually-hidden' }, t('thr.history')),
          h('thead', null, h('tr', null, [t('thr.level'), t('thr.periodCol'), t('thr.reason'), t('thr.declared'), t('thr.lifted'), t('thr.state'), ''].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            decls.map((d) => {
              const st = stateOf(d, levels.today);
              const actions: Child[] = [h('button', { type: 'button', class: 'btn-small', 'data-testid': `thr-show-${d.id}`, onclick: () => void showChecklist(d.id, checklistBox) }, t('thr.checklist'))];
              if (mayDeclare && !d.lifted_at) {
                const until = h('input', { type: 'date', name: 'ends_on', value: d.ends_on ? addDays(d.ends_on, 7) : '', 'aria-label': t('thr.extendTo'), 'data-testid': `thr-extend-date-${d.id}` });
                const extend = h('button', { type: 'button', class: 'btn-small', 'data-testid': `thr-extend-${d.id}` }, t('thr.extend'));
                const lift = h('button', { type: 'button', class: 'btn-small btn-danger', 'data-testid': `thr-lift-${d.id}` }, t('thr.lift'));
                extend.addEventListener('click', async () => {
                  if (until.value && (!isIsoDate(until.value) || until.value < d.starts_on)) return say(message('error', t('thr.badEnd')));
                  extend.disabled = true;
                  try {
                    await postJson(`${base()}/threat-levels/${d.id}/extend`, { ends_on: until.value || null });
                    if (!disposed) await refresh(message('ok', until.value ? t('thr.extended', { date: fmtDate(until.value) }) : t('thr.extendedOpen')));
                  } catch (e) {
                    if (!disposed) say(serverError(e, 'thr-error'));
                    extend.disabled = false;
                  }
                });
                lift.addEventListener('click', async () => {
                  lift.disabled = true;
                  try {
                    await postJson(`${base()}/threat-levels/${d.id}/lift`, {});
                    if (!disposed) await refresh(message('ok', t('thr.liftedDone')));
                  } catch (e) {
                    if (!disposed) say(serverError(e, 'thr-error'));
                    lift.disabled = false;
                  }
                });
                actions.push(h('span', { class: 'thr-extend' }, until, extend), lift);
              }
              return h(
                'tr',
                { 'data-id': d.id, 'data-state': st, class: st === 'in_force' ? 'in-force' : '' },
                h('td', null, levelBadge(d.level)),
                h('td', { class: 'nowrap' }, period(d)),
                h('td', null, d.reason),
                h('td', null, d.declared_by, h('div', { class: 'small muted' }, fmtEpoch(d.declared_at))),
                h('td', null, d.lifted_by ? [d.lifted_by, h('div', { class: 'small muted' }, fmtEpoch(d.lifted_at))] : t('common.none')),
                h('td', null, t(`thr.state.${st}` as 'thr.state.lifted')),
                h('td', null, h('div', { class: 'actions' }, actions)),
              );
            }),
          ),
        )
      : message('info', t('thr.noDeclarations'));

    let declareForm: HTMLElement | null = null;
    if (mayDeclare) {
      const level = select('level', THREAT_LEVELS.map((l) => [l, levelLabel(l)]), 'yellow', { 'data-testid': 'thr-level' });
      const from = h('input', { type: 'date', name: 'starts_on', value: levels.today, required: true, 'data-testid': 'thr-from' });
      const to = h('input', { type: 'date', name: 'ends_on', 'data-testid': 'thr-to' });
      const reason = h('input', { name: 'reason', required: true, autocomplete: 'off', 'data-testid': 'thr-reason' });
      const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'thr-declare' }, t('thr.declare'));
      const form = h(
        'form',
        { 'data-testid': 'thr-declare-form' },
        h('div', { class: 'form-grid' }, field(t('thr.level'), level), field(t('thr.from'), from), field(t('thr.to'), to, t('thr.toHint')), field(t('thr.reason'), reason)),
        h('p', { class: 'hint' }, t('thr.declareHint')),
        h('div', { class: 'form-actions' }, submit),
      );
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        if (!isIsoDate(from.value)) return say(message('error', t('thr.badStart')));
        if (to.value && (!isIsoDate(to.value) || to.value < from.value)) return say(message('error', t('thr.badEnd')));
        if (!reason.value.trim()) {
          reason.focus();
          return say(message('error', t('thr.needReason')));
        }
        submit.disabled = true;
        try {
          const d = await postJson<Declaration & { checklist_items: number }>(`${base()}/threat-levels`, {
            level: level.value,
            starts_on: from.value,
            ends_on: to.value || null,
            reason: reason.value.trim(),
          });
          if (disposed) return;
          shownChecklist.set(territory(), d.id);
          const ok = message('ok', t('thr.declaredDone', { level: levelLabel(d.level), n: fmtInt(d.checklist_items) }));
          ok.setAttribute('data-testid', 'thr-declared');
          await refresh(ok);
        } catch (e) {
          if (!disposed) say(serverError(e, 'thr-error'));
        } finally {
          submit.disabled = false;
        }
      });
      declareForm = panel(t('thr.declareTitle'), form, undefined, 'thr-declare-panel');
    }

    if (my !== seq || disposed) return;
    replace(content, flash, declareForm, panel(t('thr.history'), h('div', { class: 'table-scroll-x' }, history), undefined, 'thr-history-panel'), checklistBox);
    const chosen = shownChecklist.get(territory());
    const pick = decls.find((d) => d.id === chosen) ?? decls.find((d) => d.in_force) ?? decls[0];
    if (pick) await showChecklist(pick.id, checklistBox);
  }

  async function showChecklist(id: number, box: HTMLElement): Promise<void> {
    shownChecklist.set(territory(), id);
    replace(box, loading());
    let c: Checklist;
    try {
      c = await getJson<Checklist>(`${base()}/threat-levels/${id}/checklist`);
    } catch (e) {
      if (!disposed) replace(box, errorBox(e));
      return;
    }
    if (disposed) return;
    const d = c.declaration;
    const flash = h('div', { class: 'flash', 'aria-live': 'polite' });
    const bar = (share: number) => h('div', { class: 'cov-bar-track', 'aria-hidden': 'true' }, h('span', { class: 'cov-bar', style: `width:${Math.max(0, Math.min(100, share * 100)).toFixed(1)}%` }));
    const readinessTable = (rows: { key: string; label: string; items: number; done: number; readiness: number }[], head: string, testid: string) =>
      h(
        'table',
        { class: 'data thr-readiness', 'data-testid': testid },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, head), h('th', { scope: 'col', class: 'num' }, t('thr.items')), h('th', { scope: 'col', class: 'num' }, t('thr.doneCol')), h('th', { scope: 'col', class: 'num' }, t('thr.readiness')), h('th', { scope: 'col', class: 'cov-bar-col' }, ''))),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h(
              'tr',
              { 'data-key': r.key },
              h('th', { scope: 'row' }, r.label),
              h('td', { class: 'num' }, fmtInt(r.items)),
              h('td', { class: 'num' }, fmtInt(r.done)),
              h('td', { class: 'num' }, fmtPct(r.readiness)),
              h('td', { class: 'cov-bar-cell' }, bar(r.readiness)),
            ),
          ),
        ),
      );
    const byCategory = readinessTable(
      c.by_category.map((r) => ({ ...r, key: r.category, label: facilityCategoryLabel(r.category) })),
      t('thr.category'),
      'thr-by-category',
    );
    const byDistrict = c.by_district.length
      ? readinessTable(
          c.by_district.map((r) => ({ ...r, key: r.district, label: r.district === '(no district)' ? t('thr.noDistrict') : r.district })),
          t('common.district'),
          'thr-by-district',
        )
      : h('p', { class: 'hint' }, t('thr.noFacilityItems'));

    const open = !d.lifted_at;
    const items = h(
      'table',
      { class: 'data thr-items', 'data-testid': 'thr-items' },
      h('caption', { class: 'visually-hidden' }, t('thr.checklist')),
      h('thead', null, h('tr', null, [t('thr.facility'), t('thr.measure'), t('thr.done'), ''].map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        null,
        c.checklist.map((it) => {
          let doneCell: Child;
          if (it.done_at) {
            doneCell = h('div', null, h('span', { class: 'badge ext-granted' }, t('thr.doneBadge')), ' ', it.done_by ?? '', h('div', { class: 'small muted' }, fmtEpoch(it.done_at)), it.note ? h('div', { class: 'small' }, it.note) : null);
          } else if (mayCheck && open) {
            const note = h('input', { name: 'note', autocomplete: 'off', placeholder: t('thr.notePlaceholder'), 'aria-label': t('thr.note'), 'data-testid': `thr-note-${it.id}` });
            const btn = h('button', { type: 'button', class: 'btn-small', 'data-testid': `thr-done-${it.id}` }, t('thr.markDone'));
            btn.addEventListener('click', async () => {
              btn.disabled = true;
              try {
                await postJson(`${base()}/threat-levels/${id}/checklist/${it.id}/done`, { note: note.value.trim() });
                if (!disposed) await showChecklist(id, box);
              } catch (e) {
                if (!disposed) replace(flash, serverError(e, 'thr-error'));
                btn.disabled = false;
              }
            });
            doneCell = h('div', { class: 'thr-done-form' }, note, btn);
          } else {
            doneCell = h('span', { class: 'muted' }, t('thr.notDone'));
          }
          return h(
            'tr',
            { 'data-item': it.id, 'data-done': it.done_at ? 'true' : 'false', class: it.done_at ? 'done' : '' },
            h('td', null, it.facility === null ? h('i', null, t('thr.policeUnits')) : [it.facility_name, h('div', { class: 'small muted' }, it.facility)]),
            h('td', null, it.text, h('div', { class: 'small muted' }, h('code', null, it.measure))),
            h('td', { colspan: 2 }, doneCell),
          );
        }),
      ),
    );
    replace(
      box,
      panel(
        t('thr.checklistOf', { level: levelLabel(d.level), period: period(d) }),
        h(
          'div',
          { 'data-testid': 'thr-checklist', 'data-id': id },
          flash,
          h(
            'div',
            { class: 'counts' },
            h('div', { class: 'count-box', 'data-count': 'readiness' }, h('b', { 'data-testid': 'thr-readiness' }, fmtPct(c.readiness)), h('span', null, t('thr.readinessTotal'))),
            h('div', { class: 'count-box', 'data-count': 'done' }, h('b', null, t('co.nOfM', { n: fmtInt(c.done), m: fmtInt(c.items) })), h('span', null, t('thr.itemsDone'))),
          ),
          c.items === 0 ? message('info', t('thr.emptyChecklist')) : null,
          h('div', { class: 'grid-2' }, h('section', null, h('h4', null, t('thr.byCategory')), byCategory), h('section', null, h('h4', null, t('thr.byDistrict')), byDistrict)),
          c.items ? h('div', { class: 'table-scroll-x' }, items) : null,
        ),
        {
          csv: () =>
            downloadCsv(
              `checklist_${fileSlug(territory(), d.level, d.starts_on)}.csv`,
              ['item', 'facility', 'facility_name', 'measure', 'text', 'done_by', 'done_at', 'note'],
              c.checklist.map((i) => [i.id, i.facility, i.facility === null ? 'police' : i.facility_name, i.measure, i.text, i.done_by, i.done_at ? new Date(i.done_at * 1000).toISOString() : '', i.note]),
            ),
          csvTestid: 'thr-checklist-csv',
        },
        'thr-checklist-panel',
      ),
    );
  }

  // ---- The facility register ----
  async function showRegister(my: number): Promise<void> {
    const [fc, bodies] = await Promise.all([
      getJson<FacilityCollection>(`${base()}/facilities`),
      getJson<{ bodies: CoordBody[] }>('/bodies').then((r) => r.bodies).catch(() => [] as CoordBody[]),
    ]);
    if (my !== seq || disposed) return;
    const today = todayIso();
    const facilities = fc.features.map((f) => f.properties).sort((a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name));
    const inspBox = h('div');
    const tbl = facilities.length
      ? h(
          'table',
          { class: 'data fac-table', 'data-testid': 'fac-table' },
          h('caption', { class: 'visually-hidden' }, t('fac.register')),
          h('thead', null, h('tr', null, [t('fac.id'), t('fac.name'), t('fac.category'), t('fac.owner'), t('fac.passport'), t('fac.equipment'), t('fac.videoConnected'), ''].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            facilities.map((f) => {
              const ps = passportState(f.passport_valid_until, today);
              const connected = f.equipment.includes('video_connected');
              return h(
                'tr',
                { 'data-facility': f.id, class: ps === 'expired' || ps === 'none' ? 'warn-row' : '' },
                h('td', { class: 'nowrap' }, h('code', null, f.id)),
                h('td', { class: 'fac-name' }, h('b', null, f.name)),
                h('td', null, facilityCategoryLabel(f.category)),
                h('td', null, f.owner || t('common.none')),
                h(
                  'td',
                  { class: 'nowrap' },
                  f.passport ? `№ ${f.passport}` : t('fac.noPassport'),
                  f.passport_valid_until ? h('div', { class: `small pass-${ps}` }, t(`fac.pass.${ps}` as 'fac.pass.valid', { date: fmtDate(f.passport_valid_until) })) : null,
                ),
                h('td', { class: 'fac-eq-cell' }, equipmentCell(f.equipment)),
                h('td', { class: connected ? 'ok-cell' : 'bad-cell', 'data-col': 'video-connected' }, connected ? t('common.yes') : t('common.no')),
                h('td', null, h('button', { type: 'button', class: 'btn-small', 'data-testid': `fac-insp-${f.id}`, onclick: () => void showInspections(f, bodies, inspBox) }, t('fac.inspections'))),
              );
            }),
          ),
        )
      : message('info', t('fac.none'), mayManage ? ` ${t('fac.noneUpload')}` : '');
    replace(
      content,
      panel(`${t('fac.register')} (${fmtInt(facilities.length)})`, h('div', { class: 'table-scroll-x' }, tbl), undefined, 'fac-register'),
      inspBox,
      mayManage ? uploadForm() : null,
    );
  }

  function uploadForm(): HTMLElement {
    const fileIn = h('input', { type: 'file', name: 'register', accept: '.csv,.geojson,.json', tabindex: -1, 'data-testid': 'fac-upload-file' });
    const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'fac-upload-submit' }, t('reg.submit'));
    const out = h('div', { 'aria-live': 'polite' });
    const form = h(
      'form',
      { class: 'reg-form', 'data-testid': 'fac-upload-form' },
      h('p', { class: 'pl-intro' }, t('fac.uploadIntro')),
      h('p', { class: 'hint pl-intro' }, t('fac.columns')),
      field(t('reg.file'), filePicker(fileIn, t('imp.chooseFile'), t('imp.noFile'))),
      h('div', { class: 'form-actions' }, submit),
      out,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const file = fileIn.files?.[0];
      if (!file) return replace(out, tagged(message('error', t('reg.needFile')), 'fac-upload-error'));
      const format = registerFormat(file.name);
      if (!format) return replace(out, tagged(message('error', t('reg.badType')), 'fac-upload-error'));
      submit.disabled = true;
      replace(out, message('info', t('reg.running')));
      try {
        const res = await request(`${base()}/facilities${qs({ format })}`, { method: 'POST', body: { data: file, type: registerContentType(format) } });
        const r = (await res.json()) as { facilities: number; added: number; updated: number };
        if (disposed) return;
        await load();
        content.querySelector('[data-testid=fac-upload-form] [aria-live]')?.replaceChildren(tagged(message('ok', t('fac.uploaded', { n: fmtInt(r.facilities), added: fmtInt(r.added), updated: fmtInt(r.updated) })), 'fac-upload-result'));
      } catch (e) {
        if (disposed) return;
        if (e instanceof ApiError && e.status === 422 && isRejected(e.body)) replace(out, rejectsTable(e.body, 'fac-rejects'));
        else replace(out, serverError(e, 'fac-upload-error'));
      } finally {
        submit.disabled = false;
      }
    });
    return panel(t('fac.uploadTitle', { territory: territory() }), form, undefined, 'fac-upload');
  }

  async function showInspections(f: FacilityProps, bodies: CoordBody[], box: HTMLElement, note?: HTMLElement): Promise<void> {
    replace(box, loading());
    let list: Inspection[];
    try {
      list = (await getJson<{ inspections: Inspection[] }>(`${base()}/facilities/${enc(f.id)}/inspections`)).inspections;
    } catch (e) {
      if (!disposed) replace(box, errorBox(e));
      return;
    }
    if (disposed) return;
    const flash = h('div', { class: 'flash', 'aria-live': 'polite' }, note ?? null);
    const tbl = list.length
      ? h(
          'table',
          { class: 'data', 'data-testid': 'fac-inspections' },
          h('thead', null, h('tr', null, [t('fac.heldOn'), t('fac.inspector'), t('fac.summary'), t('fac.findings')].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            [...list]
              .sort((a, b) => b.held_on.localeCompare(a.held_on))
              .map((i) =>
                h(
                  'tr',
                  { 'data-inspection': i.id },
                  h('td', { class: 'nowrap' }, fmtDate(i.held_on)),
                  h('td', null, i.inspector),
                  h('td', null, i.summary || t('common.none')),
                  h('td', null, h('ul', { class: 'plain' }, i.findings.map((x) => h('li', null, x.text, ' → ', h('a', { href: `#/coordination?assignment=${x.assignment_id}` }, t('fac.assignmentN', { id: x.assignment_id })))))),
                ),
              ),
          ),
        )
      : h('p', { class: 'hint' }, t('fac.noInspections'));

    let form: HTMLElement | null = null;
    if (mayManage) {
      if (bodies.length === 0) {
        form = message('info', t('fac.needBody'), ' ', h('a', { href: '#/coordination?tab=bodies' }, t('co.tab.bodies')));
      } else {
        const held = h('input', { type: 'date', name: 'held_on', value: todayIso(), required: true, 'data-testid': 'insp-date' });
        const inspector = h('input', { name: 'inspector', required: true, value: me.display_name || me.login, autocomplete: 'off', 'data-testid': 'insp-inspector' });
        const summary = h('textarea', { name: 'summary', rows: 2, class: 'prose', 'data-testid': 'insp-summary' });
        const preferred = bodies.find((b) => b.kind === 'antiterrorist_commission') ?? bodies[0];
        const bodySel = select('body_id', bodies.map((b) => [String(b.id), b.name]), String(preferred.id), { 'data-testid': 'insp-body' });
        const controller = h('input', { name: 'controller', required: true, value: me.login, autocomplete: 'off', 'data-testid': 'insp-controller' });
        const executor = h('input', { name: 'executor', value: f.owner, autocomplete: 'off', 'data-testid': 'insp-executor' });
        const rows = h('div', { class: 'insp-findings' });
        let n = 0;
        const addFinding = () => {
          const i = n++;
          const text = h('input', { name: `finding_${i}`, autocomplete: 'off', class: 'wide', 'data-testid': `insp-finding-${i}` });
          const days = h('input', { type: 'number', name: `days_${i}`, min: 1, max: 3650, value: 30, 'data-testid': `insp-days-${i}` });
          const row = h('div', { class: 'co-member-row' });
          const remove = h('button', { type: 'button', class: 'btn-small', 'aria-label': t('fac.removeFinding'), title: t('fac.removeFinding'), onclick: () => row.remove() }, '×');
          row.append(field(t('fac.finding'), text), field(t('fac.deadlineDays'), days), remove);
          rows.appendChild(row);
          return text;
        };
        addFinding();
        const add = h('button', { type: 'button', class: 'btn-small', 'data-testid': 'insp-add-finding', onclick: () => addFinding().focus() }, t('fac.addFinding'));
        const status = h('div', { class: 'form-status' });
        const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'insp-submit' }, t('fac.recordInspection'));
        form = h(
          'form',
          { class: 'insp-form', 'data-testid': 'insp-form' },
          h('h4', null, t('fac.newInspection')),
          h('div', { class: 'form-grid' }, field(t('fac.heldOn'), held), field(t('fac.inspector'), inspector), field(t('co.body'), bodySel), field(t('co.controller'), controller), field(t('co.executor'), executor, t('fac.executorHint'))),
          field(t('fac.summary'), summary),
          h('fieldset', { class: 'co-fieldset' }, h('legend', null, t('fac.findings')), h('p', { class: 'hint' }, t('fac.findingsHint')), rows, add),
          status,
          h('div', { class: 'form-actions' }, submit),
        );
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          replace(status);
          const findings = [...rows.querySelectorAll<HTMLElement>('.co-member-row')]
            .map((r) => {
              const [text, days] = [...r.querySelectorAll('input')].map((x) => x.value.trim());
              return { text, days: Number(days) };
            })
            .filter((x) => x.text);
          if (!isIsoDate(held.value) || !inspector.value.trim() || !controller.value.trim()) return replace(status, message('error', t('fac.needFields')));
          if (findings.length === 0) return replace(status, message('error', t('fac.needFinding')));
          if (findings.some((x) => !Number.isInteger(x.days) || x.days < 1)) return replace(status, message('error', t('fac.badDays')));
          submit.disabled = true;
          try {
            const r = await postJson<{ id: number; assignments: number[] }>(`${base()}/facilities/${enc(f.id)}/inspections`, {
              held_on: held.value,
              inspector: inspector.value.trim(),
              summary: summary.value.trim(),
              body_id: Number(bodySel.value),
              controller: controller.value.trim(),
              executor: executor.value.trim() || null,
              findings: findings.map((x) => ({ text: x.text, deadline: addDays(held.value, x.days) })),
            });
            if (disposed) return;
            const ok = message('ok', t('fac.inspectionDone', { n: fmtInt(r.assignments.length) }), ' ', r.assignments.map((id, k) => [k ? ', ' : '', h('a', { href: `#/coordination?assignment=${id}` }, `№ ${id}`)]));
            ok.setAttribute('data-testid', 'insp-done');
            await showInspections(f, bodies, box, ok);
          } catch (e) {
            if (!disposed) replace(status, serverError(e, 'insp-error'));
          } finally {
            submit.disabled = false;
          }
        });
      }
    }
    replace(box, panel(t('fac.inspectionsOf', { name: f.name }), h('div', { 'data-testid': 'fac-inspections-box', 'data-facility': f.id }, flash, tbl, form), undefined, 'fac-inspections-panel'));
    box.scrollIntoView({ block: 'nearest' });
  }

  // ---- Measures ----
  async function showMeasures(my: number): Promise<void> {
    const list = sortMeasures((await getJson<{ measures: Measure[] }>('/measures')).measures);
    const rank = (lv: string) => (THREAT_LEVELS as readonly string[]).indexOf(lv);
    const shown = [...list].sort(
      (a, b) =>
        Number(b.category === 'police') - Number(a.category === 'police') ||
        facilityCategoryLabel(a.category).localeCompare(facilityCategoryLabel(b.category)) ||
        rank(a.level) - rank(b.level) ||
        a.code.localeCompare(b.code),
    );
    if (my !== seq || disposed) return;
    const tbl = list.length
      ? h(
          'table',
          { class: 'data', 'data-testid': 'meas-table' },
          h('caption', { class: 'visually-hidden' }, t('meas.title')),
          h('thead', null, h('tr', null, [t('meas.category'), t('meas.level'), t('meas.code'), t('meas.text')].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            shown.map((m) => h('tr', { 'data-category': m.category, 'data-code': m.code }, h('td', null, facilityCategoryLabel(m.category)), h('td', null, levelBadge(m.level)), h('td', null, h('code', null, m.code)), h('td', null, m.text))),
          ),
        )
      : message('info', t('meas.none'));
    let editor: HTMLElement | null = null;
    if (mayManage) {
      const text = h('textarea', { rows: 12, spellcheck: 'false', name: 'measures', 'data-testid': 'meas-csv' });
      text.value = list.length ? measuresCsv(list) : 'category,level,code,text\n';
      const fileIn = h('input', { type: 'file', accept: '.csv,.txt', tabindex: -1, 'data-testid': 'meas-file' });
      fileIn.addEventListener('change', async () => {
        const f = fileIn.files?.[0];
        if (f) text.value = await f.text();
      });
      const out = h('div', { 'aria-live': 'polite' });
      const save = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'meas-save' }, t('meas.save'));
      const form = h(
        'form',
        { 'data-testid': 'meas-form' },
        h('p', { class: 'pl-intro' }, t('meas.editIntro')),
        field(t('meas.fromFile'), filePicker(fileIn, t('imp.chooseFile'), t('imp.noFile'))),
        field(t('meas.csv'), text),
        h('div', { class: 'form-actions' }, save),
        out,
      );
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        save.disabled = true;
        replace(out);
        try {
          const res = await request('/measures', { method: 'PUT', body: { data: text.value, type: 'text/csv' } });
          const r = (await res.json()) as { measures: number; replaced: number };
          if (disposed) return;
          await load();
          content.querySelector('[data-testid=meas-form] [aria-live]')?.replaceChildren(tagged(message('ok', t('meas.saved', { n: fmtInt(r.measures) })), 'meas-saved'));
        } catch (e) {
          if (disposed) return;
          if (e instanceof ApiError && e.status === 422 && isRejected(e.body)) replace(out, rejectsTable(e.body, 'meas-rejects'));
          else replace(out, serverError(e, 'meas-error'));
        } finally {
          save.disabled = false;
        }
      });
      editor = panel(t('meas.editTitle'), form, undefined, 'meas-editor');
    }
    replace(
      content,
      h('p', { class: 'pl-intro' }, t('meas.intro')),
      panel(
        `${t('meas.title')} (${fmtInt(list.length)})`,
        tbl,
        list.length ? { csv: () => downloadBlob(new Blob([measuresCsv(list)], { type: 'text/csv;charset=utf-8' }), 'measures.csv'), csvTestid: 'meas-download' } : undefined,
        'meas-panel',
      ),
      editor,
    );
  }

  terrSel.addEventListener('change', () => {
    filters.territory = terrSel.value;
    void load();
  });
  await load();
  return () => {
    disposed = true;
    seq++;
  };
}

/** The equipment present as chips, and what is missing in a line under them. */
function equipmentCell(present: string[]): HTMLElement {
  const items = EQUIPMENT.filter((e) => e !== 'video_connected');
  const have = items.filter((e) => present.includes(e));
  const lack = items.filter((e) => !present.includes(e));
  return h(
    'div',
    null,
    have.length ? h('ul', { class: 'chips' }, have.map((e) => h('li', { class: 'chip on', 'data-eq': e }, equipmentLabel(e)))) : null,
    lack.length ? h('div', { class: 'small muted eq-missing' }, t('fac.missing', { list: lack.map((e) => equipmentLabel(e).toLowerCase()).join(', ') })) : null,
  );
}

function rejectsTable(body: CameraUploadRejected, testid: string): HTMLElement {
  const total = rejectTotal(body);
  return h(
    'div',
    null,
    tagged(message('error', t('reg.rejected', { n: fmtInt(total) })), `${testid}-error`),
    h(
      'table',
      { class: 'data', 'data-testid': testid },
      h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'num' }, t('imp.line')), h('th', { scope: 'col' }, t('imp.field')), h('th', { scope: 'col' }, t('imp.reason')))),
      h('tbody', null, body.rejects.map((r) => h('tr', null, h('td', { class: 'num' }, String(r.line)), h('td', null, h('code', null, r.field)), h('td', null, r.reason)))),
    ),
  );
}

function tagged<T extends HTMLElement>(el: T, testid: string): T {
  el.setAttribute('data-testid', testid);
  return el;
}
