// Planning: what the working cameras cover (GET …/cameras/coverage) — the headline figures,
// coverage per district, per owner type and the cameras that see the most — and, for
// administrators and analysts, the camera register upload (POST …/cameras, all or nothing).

import { ApiError, enc, getJson, qs, request, type CameraCoverage, type CameraUploadRejected, type CameraUploadResult, type Territory } from '../api';
import { drawShareBars } from '../charts/canvas';
import { field, h, replace, select } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import { fmtPct, fmtStamp } from '../forecast';
import { catName, fmtInt, t } from '../i18n';
import type { MapHook } from '../map/base';
import {
  CAMERAS_CSV_HEADER,
  COVERAGE_CSV_HEADER,
  REJECTS_CSV_HEADER,
  camerasCsvRows,
  coverageCsvRows,
  coverageDistrictLabel,
  coverageSentences,
  districtShare,
  headline,
  isRejected,
  nOfM,
  ownerColor,
  ownerName,
  perCamera,
  registerContentType,
  registerFormat,
  rejectTotal,
  rejectsCsvRows,
  sortCoverageDistricts,
  sortOwners,
  topCameras,
  uploadResultText,
} from '../planning';
import { can, categories, defaultTerritory, filters, role, territories } from '../state';
import { coverageExtras, fmtKm, streetSentence } from '../optimise';
import { errorBox, errorText, filePicker, loading, message, panel } from '../ui';
import { optimiser, type OptimiserHook } from './optimiser';
import { defaultRange } from './range';

interface PlanningHook extends MapHook, Partial<OptimiserHook> {
  coverageState: 'loading' | 'loaded' | 'error';
}

interface CovQuery {
  territory: string;
  from: string;
  to: string;
  category: string;
}

/** Districts in the PNG chart (the CSV has all). */
const CHART_TOP = 20;
/** Cameras in the table (the CSV has all). */
const CAMERAS_TOP = 10;

/** The last coverage shown, kept while the application is open (a language switch re-renders the page). */
const plState: { result: { key: string; query: CovQuery; data: CameraCoverage } | null } = { result: null };

function coveragePath(q: CovQuery): string {
  return `/territories/${enc(q.territory)}/cameras/coverage${qs({ from: q.from, to: q.to, category: q.category })}`;
}

export async function render(root: HTMLElement): Promise<() => void> {
  const hook: PlanningHook = { coverageState: 'loading' };
  window.__qalqan = hook;
  root.appendChild(loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    hook.coverageState = 'error';
    replace(root, errorBox(e));
    return () => {};
  }
  if (list.length === 0) {
    hook.coverageState = 'error';
    replace(root, message('info', t('common.noTerritories')));
    return () => {};
  }
  filters.territory = defaultTerritory(list);
  if (!filters.from && !filters.to) {
    const r = await defaultRange(filters.territory).catch(() => null);
    if (r) Object.assign(filters, r);
  }
  const mayUpload = can.cameraRegister(role());

  // ---- Filters ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'pl-territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: filters.from, 'data-testid': 'pl-from' });
  const toIn = h('input', { type: 'date', name: 'to', value: filters.to, 'data-testid': 'pl-to' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'pl-category' });
  for (const c of await categories().catch(() => [] as string[])) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;
  const showBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'pl-show' }, t('pl.show'));
  const form = h(
    'form',
    { class: 'toolbar dash-toolbar', 'data-testid': 'pl-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    lab(t('common.category'), catSel),
    h('div', { class: 'tb-actions' }, showBtn),
  );

  const covOut = h('div', { class: 'cov-results', 'aria-live': 'polite' });

  // ---- The register upload (administrators and analysts) ----
  const regTitle = h('h2', { id: 'reg-title' });
  // Reached through the picker's button (the native input is hidden): out of the tab order.
  const fileIn = h('input', { type: 'file', name: 'register', accept: '.csv,.geojson,.json', tabindex: -1, 'data-testid': 'cam-upload-file' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'cam-upload-submit' }, t('reg.submit'));
  const regOut = h('div', { class: 'reg-results', 'aria-live': 'polite' });
  // Which register: cameras, or police posts and mobile points.
  const kindSel = select('register', [['cameras', t('reg.kindCameras')], ['posts', t('reg.kindPosts')]], 'cameras', { 'data-testid': 'reg-kind' });
  const regIntro = h('p', { class: 'pl-intro' });
  const regColumns = h('p', { class: 'hint pl-intro' });
  const regForm = h(
    'form',
    { class: 'card import-form reg-form', 'data-testid': 'cam-upload-form' },
    field(t('reg.kind'), kindSel),
    field(t('reg.file'), filePicker(fileIn, t('imp.chooseFile'), t('imp.noFile'))),
    h('div', { class: 'form-actions' }, submit),
  );
  const regSection = mayUpload
    ? h(
        'section',
        { class: 'pl-section', 'data-testid': 'cam-upload', 'aria-labelledby': 'reg-title' },
        regTitle,
        regIntro,
        regColumns,
        regForm,
        regOut,
      )
    : null;
  const syncRegTitle = () => {
    const posts = kindSel.value === 'posts';
    regTitle.textContent = t(posts ? 'reg.postsTitle' : 'reg.title', { territory: terrSel.value });
    regIntro.textContent = t(posts ? 'reg.postsIntro' : 'reg.intro');
    regColumns.textContent = t(posts ? 'reg.postsColumns' : 'reg.columns');
  };
  syncRegTitle();
  kindSel.addEventListener('change', () => {
    syncRegTitle();
    replace(regOut);
  });

  // ---- The optimiser and the saved scenarios ----
  const opt = optimiser(hook as OptimiserHook, { territory: filters.territory, from: filters.from, to: filters.to, category: () => filters.category });

  replace(
    root,
    form,
    h(
      'div',
      { class: 'dash pl' },
      h(
        'section',
        { class: 'pl-section', 'data-testid': 'cov-section', 'aria-labelledby': 'cov-title' },
        h('h2', { id: 'cov-title' }, t('cov.title')),
        h('p', { class: 'pl-intro' }, t('cov.intro')),
        covOut,
      ),
      opt.section,
      opt.scenarios,
      regSection,
    ),
  );

  // ---- Coverage ----
  let seq = 0;
  let disposed = false;
  let ctrl: AbortController | null = null;

  async function load(force = false): Promise<void> {
    const my = ++seq;
    const q: CovQuery = { territory: filters.territory, from: filters.from, to: filters.to, category: filters.category };
    const key = coveragePath(q);
    hook.coverageState = 'loading';
    const known = plState.result;
    ctrl?.abort();
    if (!force && known && known.key === key) {
      showBtn.disabled = false;
      covOut.removeAttribute('aria-busy');
      show(known.query, known.data);
      hook.coverageState = 'loaded';
      return;
    }
    const c = new AbortController();
    ctrl = c;
    showBtn.disabled = true;
    covOut.setAttribute('aria-busy', 'true');
    replace(covOut, loading(), h('p', { class: 'hint' }, t('cov.running')));
    try {
      const data = await getJson<CameraCoverage>(key, { signal: c.signal });
      if (my !== seq || disposed) return;
      plState.result = { key, query: q, data };
      show(q, data);
      hook.coverageState = 'loaded';
    } catch (e) {
      if (my !== seq || disposed) return;
      replace(covOut, errorBox(e));
      hook.coverageState = 'error';
    } finally {
      if (my === seq) {
        showBtn.disabled = false;
        covOut.removeAttribute('aria-busy');
      }
    }
  }

  function show(q: CovQuery, cov: CameraCoverage): void {
    const stem = fileSlug(q.territory, q.from, q.to, q.category);
    const context = [q.territory, catName(q.category || null), `${fmtStamp(q.from || null)} – ${fmtStamp(q.to || null)}`].join(' · ');
    const none = (cov.cameras?.registered ?? 0) === 0;
    replace(
      covOut,
      h('p', { class: 'nr-context', 'data-testid': 'cov-context' }, context),
      none ? h('div', { 'data-testid': 'cov-no-cameras' }, message('info', t('cov.noCameras'), mayUpload ? ` ${t('cov.noCamerasUpload')}` : '')) : null,
      headlinePanel(cov),
      districtsPanel(cov, stem, context),
      h('div', { class: 'grid-2' }, ownersPanel(cov), camerasPanel(cov, stem)),
    );
  }

  function headlinePanel(cov: CameraCoverage): HTMLElement {
    return panel(
      t('cov.summary'),
      h(
        'div',
        null,
        h(
          'div',
          { class: 'counts cov-counts' },
          headline(cov).map((x) => h('div', { class: 'count-box', 'data-cov': x.key }, h('b', null, x.value), h('span', { class: 'cov-detail' }, x.detail), h('span', null, x.label))),
        ),
        h('ul', { class: 'pl-findings' }, [...coverageSentences(cov), streetSentence(cov)].filter((s): s is string => !!s).map((s) => h('li', null, s))),
        h('p', { class: 'hint' }, t('cov.hotspotHint')),
      ),
      undefined,
      'cov-headline',
    );
  }

  function districtsPanel(cov: CameraCoverage, stem: string, context: string): HTMLElement {
    const title = t('cov.districts');
    const ds = sortCoverageDistricts(cov.districts ?? []);
    if (ds.length === 0) return panel(title, message('info', t('cov.noDistricts')), undefined, 'cov-districts');
    const extra = coverageExtras(cov);
    const bar = (share: number | null) => h('span', { class: 'cov-bar', style: `width:${Math.max(0, Math.min(100, (share ?? 0) * 100)).toFixed(1)}%` });
    const tbl = h(
      'table',
      { class: 'data cov-districts-table', 'data-testid': 'cov-districts-table' },
      h('caption', { class: 'visually-hidden' }, title),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('common.district')),
          h('th', { scope: 'col', class: 'num' }, t('cov.incidentsCol')),
          h('th', { scope: 'col', class: 'num' }, t('cov.covered')),
          h('th', { scope: 'col', class: 'num' }, t('cov.share')),
          extra.hot ? [h('th', { scope: 'col', class: 'num' }, t('cov.hotCells')), h('th', { scope: 'col', class: 'num' }, t('cov.hotShare'))] : null,
          extra.streets ? [h('th', { scope: 'col', class: 'num' }, t('cov.streetKm')), h('th', { scope: 'col', class: 'num' }, t('cov.streetShare'))] : null,
          h('th', { scope: 'col', class: 'cov-bar-col' }, t('cov.bar')),
        ),
      ),
      h(
        'tbody',
        null,
        ds.map((d) => {
          const share = districtShare(d);
          return h(
            'tr',
            { class: d.district === null ? 'no-district' : '', 'data-district': d.district ?? '' },
            h('th', { scope: 'row' }, coverageDistrictLabel(d)),
            h('td', { class: 'num' }, fmtInt(d.incidents)),
            h('td', { class: 'num' }, fmtInt(d.covered)),
            h('td', { class: 'num' }, fmtPct(share)),
            extra.hot
              ? [
                  h('td', { class: 'num', 'data-col': 'hot-cells' }, d.hot_cells === undefined || d.hot_cells === null ? t('common.none') : t('cov.nOfM', { n: fmtInt(d.hot_cells_covered ?? 0), m: fmtInt(d.hot_cells) })),
                  h('td', { class: 'num', 'data-col': 'hot-share' }, fmtPct(d.hot_cells_share ?? (d.hot_cells ? (d.hot_cells_covered ?? 0) / d.hot_cells : null))),
                ]
              : null,
            extra.streets
              ? [
                  h('td', { class: 'num', 'data-col': 'street-km' }, d.street_km === undefined || d.street_km === null ? t('common.none') : t('cov.kmOfKm', { n: fmtKm(d.street_km_covered ?? 0), m: fmtKm(d.street_km) })),
                  h('td', { class: 'num', 'data-col': 'street-share' }, fmtPct(d.street_share ?? (d.street_km ? (d.street_km_covered ?? 0) / d.street_km : null))),
                ]
              : null,
            h('td', { class: 'cov-bar-cell', 'aria-hidden': 'true' }, h('div', { class: 'cov-bar-track' }, bar(share))),
          );
        }),
      ),
    );
    const top = ds.slice(0, CHART_TOP);
    const notes = [...coverageSentences(cov), ds.length > CHART_TOP ? t('cov.chartTop', { n: fmtInt(CHART_TOP) }) : ''].filter((x) => x);
    return panel(
      title,
      h('div', null, h('p', { class: 'hint pl-caption' }, t('cov.districtsHint')), h('div', { class: 'table-scroll-x' }, tbl)),
      {
        csv: () => downloadCsv(`camera_coverage_districts_${stem}.csv`, COVERAGE_CSV_HEADER, coverageCsvRows(cov)),
        png: () => {
          const c = document.createElement('canvas');
          drawShareBars(
            c,
            860,
            top.map((d) => coverageDistrictLabel(d)),
            top.map((d) => districtShare(d)),
            top.map((d) => nOfM(d.covered, d.incidents, districtShare(d))),
            `${t('cov.chart')} — ${context}`,
            (v) => fmtPct(v),
            notes,
          );
          downloadCanvas(c, `camera_coverage_districts_${stem}.png`);
        },
        csvTestid: 'cov-export-csv',
        pngTestid: 'cov-export-png',
      },
      'cov-districts',
    );
  }

  function ownersPanel(cov: CameraCoverage): HTMLElement {
    const title = t('cov.owners');
    const os = sortOwners(cov.owners ?? []);
    if (os.length === 0) return panel(title, message('info', t('cov.noOwners')), undefined, 'cov-owners');
    const tbl = h(
      'table',
      { class: 'data cov-owners-table', 'data-testid': 'cov-owners-table' },
      h('caption', { class: 'visually-hidden' }, title),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('cam.owner')),
          h('th', { scope: 'col', class: 'num' }, t('cov.camerasCol')),
          h('th', { scope: 'col', class: 'num' }, t('cov.seen')),
          h('th', { scope: 'col', class: 'num' }, t('cov.perCamera')),
        ),
      ),
      h(
        'tbody',
        null,
        os.map((o) =>
          h(
            'tr',
            { 'data-owner': o.owner },
            h('th', { scope: 'row' }, h('span', { class: 'sw cov-sw', style: `background:${ownerColor(o.owner)}`, 'aria-hidden': 'true' }), ' ', ownerName(o.owner)),
            h('td', { class: 'num' }, fmtInt(o.cameras)),
            h('td', { class: 'num' }, fmtInt(o.incidents_seen)),
            h('td', { class: 'num' }, perCamera(o)),
          ),
        ),
      ),
    );
    return panel(title, h('div', null, h('p', { class: 'hint pl-caption' }, t('cov.ownersHint')), tbl), undefined, 'cov-owners');
  }

  function camerasPanel(cov: CameraCoverage, stem: string): HTMLElement {
    const title = t('cov.top');
    const all = cov.per_camera ?? [];
    if (all.length === 0) return panel(title, message('info', t('cov.noOwners')), undefined, 'cov-cameras');
    const top = topCameras(cov, CAMERAS_TOP);
    const tbl = h(
      'table',
      { class: 'data cov-cameras-table', 'data-testid': 'cov-cameras-table' },
      h('caption', { class: 'visually-hidden' }, title),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col', class: 'num' }, t('cov.rank')),
          h('th', { scope: 'col' }, t('cov.camera')),
          h('th', { scope: 'col' }, t('cam.owner')),
          h('th', { scope: 'col', class: 'num' }, t('cov.seen')),
        ),
      ),
      h(
        'tbody',
        null,
        top.map((c, i) =>
          h(
            'tr',
            { 'data-camera': c.id },
            h('td', { class: 'num' }, fmtInt(i + 1)),
            h('th', { scope: 'row' }, c.id),
            h('td', null, ownerName(c.owner)),
            h('td', { class: 'num' }, fmtInt(c.incidents_seen)),
          ),
        ),
      ),
    );
    return panel(
      title,
      h('div', null, h('p', { class: 'hint pl-caption' }, all.length > top.length ? [t('cov.topHint', { n: fmtInt(top.length), m: fmtInt(all.length) }), ' '] : null, t('cov.ownersHint')), tbl),
      { csv: () => downloadCsv(`camera_coverage_cameras_${stem}.csv`, CAMERAS_CSV_HEADER, camerasCsvRows(cov)), csvTestid: 'cov-cameras-csv' },
      'cov-cameras',
    );
  }

  // ---- Events ----
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters.territory = terrSel.value;
    filters.from = fromIn.value;
    filters.to = toIn.value;
    filters.category = catSel.value;
    void load();
  });
  terrSel.addEventListener('change', async () => {
    filters.territory = terrSel.value;
    syncRegTitle();
    const r = await defaultRange(terrSel.value).catch(() => null);
    if (disposed) return;
    filters.from = fromIn.value = r?.from ?? '';
    filters.to = toIn.value = r?.to ?? '';
    opt.setTerritory(terrSel.value, filters.from, filters.to);
    void load();
  });

  regForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = fileIn.files?.[0];
    if (!file) return replace(regOut, tagged(message('error', t('reg.needFile')), 'cam-upload-error'));
    const format = registerFormat(file.name);
    if (!format) return replace(regOut, tagged(message('error', t('reg.badType')), 'cam-upload-error'));
    const terr = terrSel.value;
    submit.disabled = true;
    regOut.setAttribute('aria-busy', 'true');
    replace(regOut, message('info', t('reg.running')));
    try {
      const posts = kindSel.value === 'posts';
      const res = await request(`/territories/${enc(terr)}/${posts ? 'posts' : 'cameras'}${qs({ format })}`, { method: 'POST', body: { data: file, type: registerContentType(format) } });
      const r = (await res.json()) as CameraUploadResult & { posts?: number };
      if (disposed) return;
      const text = posts
        ? t('reg.postsDone', { n: fmtInt(r.posts ?? 0), added: fmtInt(r.added), updated: fmtInt(r.updated) })
        : uploadResultText(r);
      replace(regOut, tagged(message('ok', text), 'cam-upload-result'));
      // The coverage of this territory has changed.
      plState.result = null;
      if (terr === filters.territory) void load(true);
    } catch (e) {
      if (disposed) return;
      if (e instanceof ApiError && e.status === 422 && isRejected(e.body)) replace(regOut, rejectsView(e.body, terr, file.name));
      else if (e instanceof ApiError && e.status === 400) replace(regOut, tagged(message('error', t('reg.notFile', { msg: e.message })), 'cam-upload-error'));
      else if (e instanceof ApiError && e.status === 403) replace(regOut, h('div', { 'data-testid': 'cam-upload-error' }, errorBox(e)));
      else replace(regOut, tagged(message('error', errorText(e)), 'cam-upload-error'));
    } finally {
      submit.disabled = false;
      regOut.removeAttribute('aria-busy');
    }
  });

  void load();

  return () => {
    disposed = true;
    seq++;
    ctrl?.abort();
    opt.dispose();
  };
}

function rejectsView(body: CameraUploadRejected, territory: string, file: string): HTMLElement {
  const total = rejectTotal(body);
  const rows = body.rejects;
  return h(
    'div',
    { class: 'import-report' },
    tagged(message('error', t('reg.rejected', { n: fmtInt(total) })), 'cam-upload-error'),
    panel(
      `${t('reg.rejects')} (${fmtInt(total)})`,
      h(
        'div',
        null,
        total > rows.length ? h('p', { class: 'hint' }, t('reg.rejectsMore', { n: fmtInt(rows.length), total: fmtInt(total) })) : null,
        h(
          'table',
          { class: 'data', 'data-testid': 'cam-rejects' },
          h('caption', { class: 'visually-hidden' }, t('reg.rejects')),
          h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'num' }, t('imp.line')), h('th', { scope: 'col' }, t('imp.field')), h('th', { scope: 'col' }, t('imp.reason')))),
          h(
            'tbody',
            null,
            rows.map((r) => h('tr', null, h('td', { class: 'num' }, String(r.line)), h('td', null, h('code', null, r.field)), h('td', null, r.reason))),
          ),
        ),
      ),
      { csv: () => downloadCsv(`camera_register_rejects_${fileSlug(territory, file)}.csv`, REJECTS_CSV_HEADER, rejectsCsvRows(body)), csvTestid: 'cam-rejects-csv' },
      'cam-rejects-panel',
    ),
  );
}

function tagged<T extends HTMLElement>(el: T, testid: string): T {
  el.setAttribute('data-testid', testid);
  return el;
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, h('span', null, label), control);
}

