// Near repeats: the Knox table of incident pairs by distance and time apart (GET …/near-repeat),
// its findings in words, CSV and PNG export.

import { enc, getJson, qs, type KnoxCell, type NearRepeat, type Territory } from '../api';
import { drawCellTable } from '../charts/canvas';
import { h, replace, select } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import { catName, fmtDec, fmtInt, t } from '../i18n';
import { CSV_HEADER, KNOX_DEFAULTS, cellTip, csvRows, findings, isHourly, legend, observedExpected, observedTotals, pText, ratioText, spaceLabel, timeLabel, type KnoxSettings } from '../knox';
import { categories, defaultTerritory, filters, territories, visibleDistricts } from '../state';
import { errorBox, loading, message, panel } from '../ui';
import { defaultRange } from './range';

interface Query {
  territory: string;
  from: string;
  to: string;
  category: string;
  district: string;
  settings: KnoxSettings;
}

interface Done {
  key: string;
  query: Query;
  data: NearRepeat;
}

/** Kept while the application is open: the settings, the last table and the request under way. */
const nrState = {
  district: '',
  settings: { ...KNOX_DEFAULTS } as KnoxSettings,
  result: null as Done | null,
  pending: null as { key: string; promise: Promise<Done>; ctrl: AbortController } | null,
};

function requestPath(q: Query): string {
  const s = q.settings;
  return `/territories/${enc(q.territory)}/near-repeat${qs({
    from: q.from,
    to: q.to,
    category: q.category,
    district: q.district,
    spatial_bandwidth: s.spatial_bandwidth,
    spatial_bands: s.spatial_bands,
    temporal_bandwidth: s.temporal_bandwidth,
    temporal_bands: s.temporal_bands,
    metric: s.metric,
    permutations: s.permutations,
    seed: s.seed,
  })}`;
}

/**
 * One request per query: the same query again (another Run, or the page drawn anew in
 * another language) waits for the request under way; a different one cancels it.
 */
function fetchTable(q: Query): Promise<Done> {
  const key = requestPath(q);
  if (nrState.pending?.key === key) return nrState.pending.promise;
  nrState.pending?.ctrl.abort();
  const ctrl = new AbortController();
  const promise: Promise<Done> = getJson<NearRepeat>(key, { signal: ctrl.signal })
    .then((data) => {
      const done = { key, query: q, data };
      nrState.result = done;
      return done;
    })
    .finally(() => {
      if (nrState.pending?.promise === promise) nrState.pending = null;
    });
  nrState.pending = { key, promise, ctrl };
  return promise;
}

function contextText(q: Query): string {
  return [q.territory, `${q.from || '…'} – ${q.to || '…'}`, catName(q.category), q.district || t('common.allDistricts')].join(' · ');
}

export async function render(root: HTMLElement): Promise<() => void> {
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
  filters.territory = defaultTerritory(list);
  if (!filters.from && !filters.to) {
    const r = await defaultRange(filters.territory).catch(() => null);
    if (r) Object.assign(filters, r);
  }
  const s = nrState.settings;
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: filters.from, 'data-testid': 'from' });
  const toIn = h('input', { type: 'date', name: 'to', value: filters.to, 'data-testid': 'to' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'category' });
  for (const c of await categories().catch(() => [] as string[])) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;
  const distSel = select('district', [['', t('common.allDistricts')]], '', { 'data-testid': 'district' });
  // The districts this user may see; a user limited to some districts starts with the first of them.
  async function loadDistricts(): Promise<void> {
    replace(distSel, h('option', { value: '' }, t('common.allDistricts')));
    try {
      const { names, whole } = await visibleDistricts(filters.territory);
      for (const n of names) distSel.appendChild(h('option', { value: n }, n));
      if (nrState.district && !names.includes(nrState.district)) nrState.district = '';
      if (!nrState.district && names.length && !whole) nrState.district = names[0];
    } catch {
      /* "all districts" only */
    }
    distSel.value = nrState.district;
  }
  await loadDistricts();

  const num = (name: string, testid: string, value: number, min: number, max: number | undefined, step: number | 'any', describedBy?: string) =>
    h('input', { type: 'number', name, value, min, max, step, required: true, inputmode: step === 'any' ? 'decimal' : 'numeric', 'data-testid': testid, 'aria-describedby': describedBy });
  const sbwIn = num('spatial_bandwidth', 'nr-spatial-bandwidth', s.spatial_bandwidth, 1, 10_000, 'any');
  const sbIn = num('spatial_bands', 'nr-spatial-bands', s.spatial_bands, 1, 20, 1);
  const tbwIn = num('temporal_bandwidth', 'nr-temporal-bandwidth', s.temporal_bandwidth, 0.01, 365, 'any', 'nr-tbw-hint');
  const tbIn = num('temporal_bands', 'nr-temporal-bands', s.temporal_bands, 1, 20, 1);
  const metricSel = select('metric', [['manhattan', t('nr.metric.manhattan')], ['euclidean', t('nr.metric.euclidean')]], s.metric, { 'data-testid': 'nr-metric' });
  const permIn = num('permutations', 'nr-permutations', s.permutations, 9, 9_999, 1);
  const seedIn = num('seed', 'nr-seed', s.seed, 0, undefined, 1);
  const tbwHint = t('nr.temporalBandwidthHint', { q: fmtDec(0.25, 2) });
  tbwIn.title = tbwHint;
  const runBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'nr-run' }, t('nr.run'));
  const defaultsBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'nr-defaults', title: t('nr.defaultsHint') }, t('nr.defaults'));
  defaultsBtn.addEventListener('click', () => {
    sbwIn.value = String(KNOX_DEFAULTS.spatial_bandwidth);
    sbIn.value = String(KNOX_DEFAULTS.spatial_bands);
    tbwIn.value = String(KNOX_DEFAULTS.temporal_bandwidth);
    tbIn.value = String(KNOX_DEFAULTS.temporal_bands);
    metricSel.value = KNOX_DEFAULTS.metric;
    permIn.value = String(KNOX_DEFAULTS.permutations);
    seedIn.value = String(KNOX_DEFAULTS.seed);
  });
  const form = h(
    'form',
    { class: 'toolbar dash-toolbar nr-toolbar', 'data-testid': 'nr-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    lab(t('common.category'), catSel),
    lab(t('common.district'), distSel),
    h('span', { class: 'tb-sep', 'aria-hidden': 'true' }),
    lab(t('nr.spatialBandwidth'), sbwIn),
    lab(t('nr.spatialBands'), sbIn),
    lab(t('nr.temporalBandwidth'), tbwIn),
    lab(t('nr.temporalBands'), tbIn),
    lab(t('nr.metric'), metricSel),
    lab(t('nr.permutations'), permIn),
    lab(t('nr.seed'), seedIn),
    h('div', { class: 'tb-actions' }, runBtn, defaultsBtn),
  );
  const out = h('div', { class: 'nr-results', 'data-testid': 'nr-results', 'aria-live': 'polite' });
  replace(
    root,
    form,
    h(
      'div',
      { class: 'dash nr' },
      h('h2', null, t('nr.title')),
      h('p', { class: 'hint nr-intro' }, t('nr.intro')),
      h('p', { class: 'hint nr-intro', id: 'nr-tbw-hint' }, `${t('nr.temporalBandwidth')}: ${tbwHint}${tbwHint.endsWith('.') ? '' : '.'}`),
      out,
    ),
  );

  const currentQuery = (): Query => ({
    territory: filters.territory,
    from: filters.from,
    to: filters.to,
    category: filters.category,
    district: nrState.district,
    settings: { ...nrState.settings },
  });

  const setBusy = (busy: boolean) => {
    runBtn.disabled = busy;
    if (busy) out.setAttribute('aria-busy', 'true');
    else out.removeAttribute('aria-busy');
  };

  let seq = 0;
  async function run(): Promise<void> {
    const my = ++seq;
    setBusy(true);
    replace(out, loading(), h('p', { class: 'hint' }, t('nr.running')));
    try {
      const done = await fetchTable(currentQuery());
      if (my !== seq) return;
      show(done);
    } catch (e) {
      if (my !== seq) return;
      replace(out, errorBox(e));
    } finally {
      if (my === seq) setBusy(false);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters.territory = terrSel.value;
    filters.from = fromIn.value;
    filters.to = toIn.value;
    filters.category = catSel.value;
    nrState.district = distSel.value;
    nrState.settings = {
      spatial_bandwidth: Number(sbwIn.value),
      spatial_bands: Number(sbIn.value),
      temporal_bandwidth: Number(tbwIn.value),
      temporal_bands: Number(tbIn.value),
      metric: metricSel.value === 'euclidean' ? 'euclidean' : 'manhattan',
      permutations: Number(permIn.value),
      seed: Number(seedIn.value),
    };
    void run();
  });
  terrSel.addEventListener('change', async () => {
    filters.territory = terrSel.value;
    const r = await defaultRange(terrSel.value).catch(() => null);
    filters.from = fromIn.value = r?.from ?? '';
    filters.to = toIn.value = r?.to ?? '';
    nrState.district = '';
    await loadDistricts();
  });

  // The table of these filters if it is known or under way (e.g. after a change of language).
  const key = requestPath(currentQuery());
  if (nrState.pending?.key === key) void run();
  else if (nrState.result?.key === key) show(nrState.result);
  else replace(out, message('info', t('nr.prompt')));

  return () => {
    seq++;
  };

  // ---- Results ----

  function show(done: Done): void {
    const d = done.data;
    const context = h('p', { class: 'nr-context', 'data-testid': 'nr-context' }, contextText(done.query));
    const summary = panel(t('nr.findings'), h('ul', { class: 'nr-findings' }, findings(d).map((x) => h('li', null, x))), undefined, 'nr-summary');
    if (d.events < 2 || d.pairs === 0) {
      replace(out, context, message('info', t('nr.tooFew', { n: fmtInt(d.events) })), summary);
      return;
    }
    replace(out, context, summary, knoxPanel(done), observedPanel(done));
  }

  function knoxPanel(done: Done): HTMLElement {
    const d = done.data;
    const hourly = isHourly(d);
    const cols = d.temporal_bands.map((b) => timeLabel(b, hourly));
    const rows = d.spatial_bands.map((b) => spaceLabel(b));
    const tbl = h(
      'table',
      { class: 'data nr-table', 'data-testid': 'nr-table' },
      h('caption', { class: 'visually-hidden' }, `${t('nr.table')}. ${t('nr.tableCaption')}`),
      h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'nr-corner' }, t('nr.corner')), cols.map((c) => h('th', { scope: 'col', class: 'nr-col' }, c)))),
      h(
        'tbody',
        null,
        d.cells.map((row, r) => h('tr', null, h('th', { scope: 'row' }, rows[r] ?? ''), row.map((c, j) => cellTd(c, r, j)))),
      ),
    );
    const legendBox = h(
      'div',
      { class: 'nr-legend', 'data-testid': 'nr-legend' },
      legend(d).map((line, i) => h('p', { class: 'hint' }, i === 1 ? h('span', { class: 'nr-swatch', 'aria-hidden': 'true' }, '★') : null, line)),
    );
    const stem = fileSlug(done.query.territory, done.query.district, done.query.from, done.query.to, done.query.category);
    return panel(
      t('nr.table'),
      h('div', null, h('p', { class: 'hint nr-caption' }, t('nr.tableCaption')), h('div', { class: 'table-scroll-x' }, tbl), legendBox),
      {
        csv: () => downloadCsv(`near_repeat_${stem}.csv`, CSV_HEADER, csvRows(d)),
        png: () => {
          const c = document.createElement('canvas');
          const cells = d.cells.map((row) => row.map((cell) => ({ lines: [`${ratioText(cell.knox_ratio)}${cell.notable ? ' ★' : ''}`, `p = ${pText(cell.p_value)}`, observedExpected(cell)], highlight: cell.notable })));
          drawCellTable(c, `${t('nr.title')} — ${contextText(done.query)}`, t('nr.corner'), cols, rows, cells, [...legend(d), '', `${t('nr.findings')}:`, ...findings(d).map((x) => `• ${x}`)]);
          downloadCanvas(c, `near_repeat_${stem}.png`);
        },
        csvTestid: 'nr-export-csv',
        pngTestid: 'nr-export-png',
      },
      'nr-knox',
    );
  }

  function cellTd(c: KnoxCell, r: number, j: number): HTMLElement {
    return h(
      'td',
      { class: `nr-cell${c.notable ? ' notable' : ''}`, 'data-testid': `nr-cell-${r}-${j}`, 'data-notable': c.notable ? 'true' : 'false', title: cellTip(c) },
      h(
        'div',
        { class: 'nr-ratio' },
        ratioText(c.knox_ratio),
        c.notable ? [' ', h('span', { class: 'nr-mark', role: 'img', 'aria-label': t('nr.notable'), title: t('nr.notable') }, '★')] : null,
      ),
      h('div', { class: 'nr-p' }, `p = ${pText(c.p_value)}`),
      h('div', { class: 'nr-oe' }, observedExpected(c)),
    );
  }

  function observedPanel(done: Done): HTMLElement {
    const d = done.data;
    const hourly = isHourly(d);
    const tot = observedTotals(d);
    const tbl = h(
      'table',
      { class: 'data nr-observed', 'data-testid': 'nr-observed-table' },
      h('caption', { class: 'visually-hidden' }, t('nr.observedTable')),
      h(
        'thead',
        null,
        h('tr', null, h('th', { scope: 'col' }, t('nr.corner')), d.temporal_bands.map((b) => h('th', { scope: 'col', class: 'num' }, timeLabel(b, hourly))), h('th', { scope: 'col', class: 'num' }, t('nr.total'))),
      ),
      h(
        'tbody',
        null,
        d.cells.map((row, r) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row' }, d.spatial_bands[r] ? spaceLabel(d.spatial_bands[r]) : ''),
            row.map((c, j) => h('td', { class: 'num', 'data-testid': `nr-obs-${r}-${j}` }, fmtInt(c.observed))),
            h('td', { class: 'num nr-total' }, fmtInt(tot.rows[r] ?? 0)),
          ),
        ),
        h(
          'tr',
          { class: 'total-row' },
          h('th', { scope: 'row' }, t('nr.total')),
          tot.columns.map((v) => h('td', { class: 'num' }, fmtInt(v))),
          h('td', { class: 'num', 'data-testid': 'nr-obs-total' }, fmtInt(tot.all)),
        ),
      ),
    );
    return panel(t('nr.observedTable'), h('div', null, h('p', { class: 'hint nr-caption' }, t('nr.observedHint')), h('div', { class: 'table-scroll-x' }, tbl)), undefined, 'nr-observed');
  }
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, label ? h('span', null, label) : null, control);
}
