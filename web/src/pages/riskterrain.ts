// Risk terrain (issue #8, "causes and conditions"): which nearby conditions — places of interest
// from the OpenStreetMap import and the territory's registers — make a place riskier, and by how
// much (GET …/risk-terrain): the factor table with a forest plot, the fit in words, the composite
// risk map on our offline map, CSV and PNG export.

import { Map as MlMap, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { enc, getJson, qs, type RiskCellProps, type RiskFactor, type RiskTerrain, type Territory } from '../api';
import { drawForest, drawForestAxis, drawForestRow } from '../charts/canvas';
import { h, replace, select } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import { catName, fmtDec, fmtInt, t } from '../i18n';
import { EMPTY, baseLayersAbove, baseLayersBelow, bboxOf, webglAvailable, type FC, type MapHook } from '../map/base';
import {
  FACTORS_CSV_HEADER,
  RT_DEFAULTS,
  chosenFactors,
  emptyReason,
  factorName,
  factorsCsvRows,
  featureList,
  fitSentences,
  fmtRisk,
  fmtRr,
  forestScale,
  influenceHelp,
  influenceText,
  intervalText,
  modelLines,
  notKept,
  pValueText,
  riskClasses,
  riskColor,
  riskLegend,
  type RiskClasses,
} from '../riskterrain';
import { categories, defaultTerritory, filters, territories } from '../state';
import { errorBox, loading, message, panel } from '../ui';
import { defaultRange } from './range';

interface Query {
  territory: string;
  from: string;
  to: string;
  category: string;
  cell: number;
  family: 'negative_binomial' | 'poisson';
  seed: number;
  /** Empty: all the territory's conditions (the server's default). */
  factors: string[];
}

interface Done {
  key: string;
  query: Query;
  data: RiskTerrain;
}

/** Kept while the application is open: the settings, the factors known per territory, the last result and the request under way. */
const rtState = {
  cell: RT_DEFAULTS.cell,
  family: RT_DEFAULTS.family,
  seed: RT_DEFAULTS.seed,
  /** Per territory: the factors it offers (from a run) and those chosen. */
  known: new Map<string, string[]>(),
  chosen: new Map<string, string[]>(),
  extra: '',
  result: null as Done | null,
  pending: null as { key: string; promise: Promise<Done>; ctrl: AbortController; started: number } | null,
};

function requestPath(q: Query): string {
  return `/territories/${enc(q.territory)}/risk-terrain${qs({
    from: q.from,
    to: q.to,
    category: q.category,
    cell: q.cell,
    factors: q.factors.join(','),
    family: q.family,
    seed: q.seed,
  })}`;
}

/** One request per query: the same query again waits for the request under way; another cancels it. */
function fetchTerrain(q: Query): Promise<Done> {
  const key = requestPath(q);
  if (rtState.pending?.key === key) return rtState.pending.promise;
  rtState.pending?.ctrl.abort();
  const ctrl = new AbortController();
  const promise: Promise<Done> = getJson<RiskTerrain>(key, { signal: ctrl.signal })
    .then((data) => {
      const done = { key, query: q, data };
      rtState.result = done;
      // The conditions this territory offers (tested or too rare), for the factor choice.
      const names = [...data.factors_tested, ...data.factors_skipped].map((f) => f.factor);
      const before = rtState.known.get(q.territory) ?? [];
      rtState.known.set(q.territory, [...new Set([...before, ...names])].sort());
      return done;
    })
    .finally(() => {
      if (rtState.pending?.promise === promise) rtState.pending = null;
    });
  rtState.pending = { key, promise, ctrl, started: Date.now() };
  return promise;
}

interface RiskHook extends MapHook {
  map: MlMap | null;
  rtState: 'idle' | 'loading' | 'loaded' | 'error';
  /** Cells drawn on the map. */
  rtCells: number;
  rtFactors: number;
}

function style(): StyleSpecification {
  return {
    version: 8,
    sources: {
      cells: { type: 'geojson', data: EMPTY },
      bounds: { type: 'geojson', data: EMPTY },
      selected: { type: 'geojson', data: EMPTY },
    },
    layers: [
      ...baseLayersBelow(),
      { id: 'risk-fill', type: 'fill', source: 'cells', paint: { 'fill-color': ['get', '_c'], 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 12, 0.85, 17, 0.6] } },
      { id: 'risk-line', type: 'line', source: 'cells', minzoom: 14, paint: { 'line-color': '#ffffff', 'line-width': 0.4, 'line-opacity': 0.7 } },
      ...baseLayersAbove(),
      { id: 'selected-line', type: 'line', source: 'selected', paint: { 'line-color': '#111111', 'line-width': 2.5 } },
    ],
  };
}

export async function render(root: HTMLElement): Promise<() => void> {
  const hook: RiskHook = { map: null, rtState: 'idle', rtCells: 0, rtFactors: 0 };
  window.__qalqan = hook;
  root.appendChild(loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    hook.rtState = 'error';
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

  // ---- Controls ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'rt-territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: filters.from, 'data-testid': 'rt-from' });
  const toIn = h('input', { type: 'date', name: 'to', value: filters.to, 'data-testid': 'rt-to' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'rt-category' });
  for (const c of await categories().catch(() => [] as string[])) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;
  const cellIn = h('input', { type: 'number', name: 'cell', value: rtState.cell, min: 10, max: 1000, step: 1, required: true, inputmode: 'numeric', 'data-testid': 'rt-cell', class: 'rt-num' });
  const familySel = select('family', [['negative_binomial', t('rt.family.nb')], ['poisson', t('rt.family.poisson')]], rtState.family, { 'data-testid': 'rt-family' });
  const seedIn = h('input', { type: 'number', name: 'seed', value: rtState.seed, min: 0, step: 1, required: true, inputmode: 'numeric', 'data-testid': 'rt-seed', class: 'rt-num', title: t('rt.seedHint') });
  const runBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'rt-run' }, t('rt.run'));
  const factorBox = h('div', { class: 'rt-factor-list', 'data-testid': 'rt-factor-list' });
  const extraIn = h('input', { type: 'text', name: 'extra', value: rtState.extra, autocomplete: 'off', 'data-testid': 'rt-factors-extra', class: 'rt-extra', placeholder: 'bar, transit_stop', 'aria-describedby': 'rt-extra-hint' });
  const factorSet = h(
    'fieldset',
    { class: 'rt-factors', 'data-testid': 'rt-factors' },
    h('legend', null, t('rt.factorsLegend')),
    factorBox,
    h('label', { class: 'tb-field rt-extra-field' }, h('span', null, t('rt.factorsExtra')), extraIn),
    h('small', { class: 'hint', id: 'rt-extra-hint' }, t('rt.factorsExtraHint')),
  );
  const form = h(
    'form',
    { class: 'toolbar dash-toolbar rt-toolbar', 'data-testid': 'rt-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    lab(t('common.category'), catSel),
    lab(t('rt.cell'), cellIn),
    lab(t('rt.family'), familySel),
    lab(t('rt.seed'), seedIn),
    h('div', { class: 'tb-actions' }, runBtn),
    factorSet,
  );

  const mapDiv = h('div', { class: 'map', 'data-testid': 'rt-map', role: 'region', 'aria-label': t('rt.mapTitle') });
  const legend = h('div', { class: 'legend', 'data-testid': 'rt-legend', hidden: true });
  const statusBar = h('div', { class: 'map-status', 'data-testid': 'rt-status', 'aria-live': 'polite' });
  const mapNote = h('div', { class: 'map-notes' });
  const mapWrap = h('div', { class: 'fc-map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, statusBar, mapNote), legend, h('div', { class: 'map-hint' }, t('rt.clickHint')));
  const side = h('div', { class: 'fc-card-box', 'aria-live': 'polite' });
  const out = h('div', { class: 'rt-results', 'data-testid': 'rt-results', 'aria-live': 'polite' });
  const context = h('p', { class: 'nr-context', 'data-testid': 'rt-context' });

  replace(
    root,
    form,
    h(
      'div',
      { class: 'dash rt' },
      h('h2', null, t('rt.title')),
      h('p', { class: 'hint fc-intro' }, t('rt.intro')),
      context,
      h('div', { class: 'fc-top' }, mapWrap, side),
      out,
    ),
  );

  // ---- Factor choice ----
  function drawFactorChoice(): void {
    const known = rtState.known.get(terrSel.value) ?? [];
    if (known.length === 0) {
      replace(factorBox, h('span', { class: 'hint' }, t('rt.factorsUnknown')));
      return;
    }
    const chosen = rtState.chosen.get(terrSel.value) ?? known;
    const boxes = known.map((f) =>
      h('label', { class: 'rt-factor', title: f }, h('input', { type: 'checkbox', name: 'factor', value: f, checked: chosen.includes(f), 'data-testid': `rt-factor-${f}` }), ' ', factorName(f)),
    );
    const all = h('button', { type: 'button', class: 'btn-small', 'data-testid': 'rt-factors-all' }, t('rt.factorsAll'));
    const none = h('button', { type: 'button', class: 'btn-small', 'data-testid': 'rt-factors-none' }, t('rt.factorsNone'));
    all.addEventListener('click', () => factorBox.querySelectorAll<HTMLInputElement>('input[name=factor]').forEach((c) => (c.checked = true)));
    none.addEventListener('click', () => factorBox.querySelectorAll<HTMLInputElement>('input[name=factor]').forEach((c) => (c.checked = false)));
    replace(factorBox, h('div', { class: 'rt-factor-actions' }, all, none), boxes);
  }
  drawFactorChoice();

  // ---- Map ----
  let map: MlMap | null = null;
  let loaded: Promise<void> = Promise.resolve();
  let popup: Popup | null = null;
  if (webglAvailable()) {
    map = new MlMap({
      container: mapDiv,
      style: style(),
      center: [0, 20],
      zoom: 1,
      attributionControl: false,
      maxZoom: 19,
      dragRotate: false,
      pitchWithRotate: false,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    } as MapOptions);
    map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
    const m = map;
    loaded = new Promise<void>((res) => m.once('load', () => res()));
  } else {
    replace(mapNote, message('error', t('map.webglMissing')));
  }
  hook.map = map;

  let disposed = false;
  let boundsFc: FC = EMPTY;
  let boundsOf = '';
  let cellsFc: FC = EMPTY;
  let shown: RiskTerrain | null = null;

  async function loadBoundaries(territory: string): Promise<void> {
    if (boundsOf === territory) return;
    boundsOf = territory;
    let fc: FC = EMPTY;
    try {
      fc = await getJson<FC>(`/territories/${enc(territory)}/boundaries`);
    } catch {
      /* no boundary (404) or not allowed (403): the cells alone */
    }
    if (boundsOf !== territory || disposed) return;
    boundsFc = fc;
    await loaded;
    if (disposed || !map) return;
    (map.getSource('bounds') as GeoJSONSource).setData(boundsFc);
  }

  function fit(tries = 0): void {
    if (disposed || !map) return;
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(tries + 1), 50);
      return;
    }
    map.resize();
    const bb = bboxOf(cellsFc) ?? bboxOf(boundsFc, (p) => p.kind === 'territory') ?? bboxOf(boundsFc);
    if (bb) map.fitBounds(bb as LngLatBoundsLike, { padding: 30, duration: 0, maxZoom: 16 });
  }

  function drawLegend(c: RiskClasses | null, hasLower: boolean): void {
    if (!c) {
      legend.hidden = true;
      return;
    }
    const rows = riskLegend(c, hasLower).map((r) => h('div', { class: 'legend-row' }, h('span', { class: 'sw', style: `background:${r.color}` }), h('span', null, r.label)));
    if (boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'territory')) rows.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-line' }), h('span', null, t('legend.boundary'))));
    replace(legend, h('div', { class: 'legend-title' }, t('rt.legend')), ...rows);
    legend.hidden = false;
  }

  async function drawCells(data: RiskTerrain | null): Promise<void> {
    const feats = (data?.map.features ?? []).filter((f) => f.geometry);
    const classes = data ? riskClasses(feats.map((f) => f.properties.risk)) : null;
    for (const f of feats) (f.properties as RiskCellProps & { _c?: string })._c = riskColor(f.properties.risk, classes!);
    cellsFc = { type: 'FeatureCollection', features: feats as unknown as FC['features'] };
    popup?.remove();
    await loaded;
    if (disposed) return;
    if (map) {
      (map.getSource('cells') as GeoJSONSource).setData(cellsFc);
      (map.getSource('selected') as GeoJSONSource).setData(EMPTY);
      hook.rtCells = feats.length;
    } else hook.rtCells = 0;
    drawLegend(classes, feats.some((f) => f.properties.risk < 0.9999));
    statusBar.textContent = data ? t('rt.status', { n: fmtInt(feats.length), cell: fmtInt(data.cell_m) }) : '';
    fit();
  }

  if (map) {
    const m = map;
    m.on('click', (ev) => {
      const f = m.queryRenderedFeatures(ev.point, { layers: ['risk-fill'] })[0];
      popup?.remove();
      if (!f || !shown) {
        (m.getSource('selected') as GeoJSONSource).setData(EMPTY);
        return;
      }
      const risk = Number((f.properties as Record<string, unknown>).risk);
      const count = Number((f.properties as Record<string, unknown>).count);
      (m.getSource('selected') as GeoJSONSource).setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: f.geometry, properties: {} }] });
      const expected = shown.baseline * risk;
      const body = h(
        'div',
        { class: 'cell-info fc-popup', 'data-testid': 'rt-popup' },
        h('h4', null, t('rt.cellTitle')),
        h(
          'table',
          { class: 'kv' },
          h('tr', null, h('th', null, t('rt.cellRisk')), h('td', { 'data-prop': 'risk' }, fmtRisk(risk))),
          h('tr', null, h('th', null, t('rt.cellCount')), h('td', { 'data-prop': 'count' }, fmtInt(count))),
          h('tr', null, h('th', null, t('rt.cellExpected')), h('td', { 'data-prop': 'expected' }, fmtDec(expected, 0, expected < 10 ? 2 : 1))),
        ),
        h('p', { class: 'hint' }, t('rt.cellHelp')),
      );
      popup = new Popup({ closeButton: true, maxWidth: '300px' }).setLngLat(ev.lngLat).setDOMContent(body).addTo(m);
      popup.on('close', () => {
        if (!disposed) (m.getSource('selected') as GeoJSONSource | undefined)?.setData(EMPTY);
      });
    });
    m.on('mousemove', (ev) => {
      if (!m.isStyleLoaded()) return;
      m.getCanvas().style.cursor = m.queryRenderedFeatures(ev.point, { layers: ['risk-fill'] }).length ? 'pointer' : '';
    });
  }

  // ---- Running ----
  const currentQuery = (): Query => ({
    territory: filters.territory,
    from: filters.from,
    to: filters.to,
    category: filters.category,
    cell: rtState.cell,
    family: rtState.family,
    seed: rtState.seed,
    factors: chosenFactors(rtState.known.get(filters.territory) ?? [], rtState.chosen.get(filters.territory) ?? rtState.known.get(filters.territory) ?? [], rtState.extra),
  });

  /** The forest plots of the table, drawn once the table is in the page (and again on resize). */
  let forestJobs: (() => void)[] = [];
  function drawForests(): void {
    for (const j of forestJobs) j();
  }

  let seq = 0;
  let ticker: ReturnType<typeof setInterval> | null = null;
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = null;
  };

  async function run(): Promise<void> {
    const my = ++seq;
    const q = currentQuery();
    hook.rtState = 'loading';
    hook.rtCells = 0;
    runBtn.disabled = true;
    form.setAttribute('aria-busy', 'true');
    out.setAttribute('aria-busy', 'true');
    const elapsed = h('span', { 'data-testid': 'rt-elapsed' });
    const busy = h('div', { class: 'rt-busy', 'data-testid': 'rt-busy', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, t('rt.running')), ' ', elapsed);
    replace(side, panel(t('rt.fitTitle'), busy, undefined, 'rt-summary'));
    replace(out);
    context.textContent = contextText(q);
    statusBar.textContent = t('rt.running');
    const boundaries = loadBoundaries(q.territory);
    const promise = fetchTerrain(q);
    const started = rtState.pending?.started ?? Date.now();
    const tick = () => (elapsed.textContent = t('rt.elapsed', { s: fmtInt(Math.round((Date.now() - started) / 1000)) }));
    tick();
    stopTicker();
    ticker = setInterval(tick, 1000);
    try {
      const done = await promise;
      await boundaries;
      if (my !== seq || disposed) return;
      await show(done);
      if (my !== seq || disposed) return;
      hook.rtState = 'loaded';
    } catch (e) {
      if (my !== seq || disposed) return;
      shown = null;
      await drawCells(null);
      replace(side, panel(t('rt.fitTitle'), errorBox(e), undefined, 'rt-summary'));
      const err = side.querySelector('.msg');
      if (err) err.setAttribute('data-testid', 'rt-error');
      statusBar.textContent = '';
      hook.rtState = 'error';
    } finally {
      if (my === seq) {
        stopTicker();
        runBtn.disabled = false;
        form.removeAttribute('aria-busy');
        out.removeAttribute('aria-busy');
      }
    }
  }

  async function show(done: Done): Promise<void> {
    const d = done.data;
    shown = d;
    context.textContent = contextText(done.query);
    drawFactorChoice();
    replace(side, summaryPanel(done));
    const reason = emptyReason(d);
    hook.rtFactors = d.factors.length;
    if (reason) {
      forestJobs = [];
      replace(out, testedPanel(d));
    } else replace(out, factorsPanel(done), testedPanel(d));
    requestAnimationFrame(() => drawForests());
    await drawCells(d);
    if (d.map.features.length === 0) replace(mapNote, message('info', t('rt.noCells')));
    else if (map) replace(mapNote);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (runBtn.disabled) return;
    const cell = Number(cellIn.value);
    if (!(Number.isFinite(cell) && cell >= 10 && cell <= 1000)) {
      replace(out, message('error', t('rt.badCell')));
      cellIn.focus();
      return;
    }
    filters.territory = terrSel.value;
    filters.from = fromIn.value;
    filters.to = toIn.value;
    filters.category = catSel.value;
    rtState.cell = cell;
    rtState.family = familySel.value === 'poisson' ? 'poisson' : 'negative_binomial';
    rtState.seed = Math.max(0, Math.round(Number(seedIn.value) || 0));
    const boxes = [...factorBox.querySelectorAll<HTMLInputElement>('input[name=factor]')];
    if (boxes.length) rtState.chosen.set(filters.territory, boxes.filter((b) => b.checked).map((b) => b.value));
    rtState.extra = extraIn.value.trim();
    const q = currentQuery();
    if (boxes.length && q.factors.length === 0 && boxes.every((b) => !b.checked) && !rtState.extra) {
      replace(out, message('error', t('rt.noneChosen')));
      return;
    }
    void run();
  });
  terrSel.addEventListener('change', async () => {
    filters.territory = terrSel.value;
    drawFactorChoice();
    const r = await defaultRange(terrSel.value).catch(() => null);
    filters.from = fromIn.value = r?.from ?? '';
    filters.to = toIn.value = r?.to ?? '';
  });

  // The result of these settings if it is known or under way (e.g. after a change of language).
  const key = requestPath(currentQuery());
  if (rtState.pending?.key === key) void run();
  else if (rtState.result?.key === key) {
    const known = rtState.result;
    void loadBoundaries(known.query.territory).then(async () => {
      if (disposed) return;
      await show(known);
      hook.rtState = 'loaded';
    });
  } else {
    replace(side, panel(t('rt.fitTitle'), message('info', t('rt.prompt')), undefined, 'rt-summary'));
    void loadBoundaries(filters.territory).then(() => fit());
  }

  let lastW = window.innerWidth;
  const onResize = () => {
    if (Math.abs(window.innerWidth - lastW) > 40) {
      lastW = window.innerWidth;
      drawForests();
    }
  };
  window.addEventListener('resize', onResize);

  return () => {
    disposed = true;
    seq++;
    stopTicker();
    window.removeEventListener('resize', onResize);
    popup?.remove();
    map?.remove();
    hook.map = null;
  };

  // ---- Panels ----

  function contextText(q: Query): string {
    return [q.territory, `${q.from || '…'} – ${q.to || '…'}`, catName(q.category), t('rt.cellContext', { n: fmtInt(q.cell) })].join(' · ');
  }

  function summaryPanel(done: Done): HTMLElement {
    const d = done.data;
    const reason = emptyReason(d);
    return panel(
      t('rt.fitTitle'),
      h(
        'div',
        { class: 'fc-card rt-card' },
        reason ? h('div', { 'data-testid': 'rt-no-factors' }, message('info', reason)) : null,
        h('ul', { class: 'nr-findings rt-findings', 'data-testid': 'rt-fit' }, fitSentences(d).map((s) => h('li', null, s))),
        h('div', { class: 'fc-fit' }, h('h4', null, t('rt.modelTitle')), modelLines(d).map((s) => h('p', { class: 'hint' }, s))),
        h('p', { class: 'hint' }, t('rt.about')),
      ),
      undefined,
      'rt-summary',
    );
  }

  function testedPanel(d: RiskTerrain): HTMLElement {
    const dropped = notKept(d);
    const items: HTMLElement[] = [];
    if (d.factors_tested.length) items.push(h('p', null, h('b', null, t('rt.tested')), ' ', featureList(d.factors_tested)));
    if (dropped.length) items.push(h('p', null, h('b', null, t('rt.notKept')), ' ', dropped.map((f) => factorName(f)).join(', ')));
    if (d.factors_skipped.length) items.push(h('p', null, h('b', null, t('rt.skipped', { min: fmtInt(3) })), ' ', featureList(d.factors_skipped)));
    if (items.length === 0) items.push(h('p', { class: 'hint' }, t('rt.noConditionsShort')));
    return panel(t('rt.testedTitle'), h('div', { class: 'rt-tested', 'data-testid': 'rt-tested' }, items), undefined, 'rt-tested-panel');
  }

  function factorsPanel(done: Done): HTMLElement {
    const d = done.data;
    const scale = forestScale(d.factors);
    const W = 170, H = 22;
    forestJobs = [];
    const forestCell = (f: RiskFactor) => {
      const c = h('canvas', { class: 'rt-forest', role: 'img', 'aria-label': t('rt.forestAlt', { rr: fmtRr(f.relative_risk), low: fmtRr(f.low), high: fmtRr(f.high) }) });
      forestJobs.push(() => drawForestRow(c, W, H, f.relative_risk, f.low, f.high, scale, f.relative_risk >= 1 ? '#b3261e' : '#2166ac'));
      return c;
    };
    const axis = h('canvas', { class: 'rt-forest-axis', 'aria-hidden': 'true' });
    forestJobs.push(() => drawForestAxis(axis, W, scale, (v) => fmtDec(v, 0, 2)));
    const conf = Math.round(d.confidence * 100);
    const tbl = h(
      'table',
      { class: 'data rt-table', 'data-testid': 'rt-table' },
      h('caption', { class: 'visually-hidden' }, t('rt.tableTitle')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('rt.col.factor')),
          h('th', { scope: 'col' }, t('rt.col.influence')),
          h('th', { scope: 'col', class: 'num' }, t('rt.col.rr')),
          h('th', { scope: 'col', class: 'num' }, t('rt.col.interval', { conf: String(conf) })),
          h('th', { scope: 'col', class: 'rt-forest-col' }, t('rt.col.forest'), h('div', null, axis)),
          h('th', { scope: 'col', class: 'num' }, t('rt.col.p')),
          h('th', { scope: 'col', class: 'num' }, t('rt.col.cells')),
        ),
      ),
      h(
        'tbody',
        null,
        d.factors.map((f) =>
          h(
            'tr',
            { 'data-factor': f.factor, class: f.relative_risk < 1 ? 'rt-lower' : '' },
            h('th', { scope: 'row' }, factorName(f.factor), factorName(f.factor) !== f.factor ? h('div', { class: 'hint rt-code' }, f.factor) : null),
            h('td', { title: influenceHelp(f), 'data-col': 'influence' }, influenceText(f)),
            h('td', { class: 'num rt-rr', 'data-col': 'rr' }, fmtRr(f.relative_risk)),
            h('td', { class: 'num', 'data-col': 'interval' }, intervalText(f.low, f.high)),
            h('td', { class: 'rt-forest-cell' }, forestCell(f)),
            h('td', { class: 'num', 'data-col': 'p' }, pValueText(f.p_value)),
            h('td', { class: 'num' }, fmtInt(f.cells)),
          ),
        ),
      ),
    );
    const q = done.query;
    const stem = fileSlug(q.territory, `${q.cell}m`, q.from, q.to, q.category);
    return panel(
      t('rt.tableTitle'),
      h('div', null, h('p', { class: 'hint nr-caption' }, t('rt.tableHint', { conf: String(conf) })), h('div', { class: 'table-scroll-x' }, tbl)),
      {
        csv: () => downloadCsv(`risk_terrain_${stem}.csv`, FACTORS_CSV_HEADER, factorsCsvRows(d)),
        png: () => {
          const c = document.createElement('canvas');
          drawForest(
            c,
            900,
            d.factors.map((f) => ({ label: `${factorName(f.factor)} — ${influenceText(f)}`, value: f.relative_risk, low: f.low, high: f.high, text: `${fmtRr(f.relative_risk)} (${intervalText(f.low, f.high)}), p ${pValueText(f.p_value).startsWith('<') ? pValueText(f.p_value) : `= ${pValueText(f.p_value)}`}` })),
            scale,
            `${t('rt.tableTitle')} — ${contextText(q)}`,
            (v) => fmtDec(v, 0, 2),
            fitSentences(d),
          );
          downloadCanvas(c, `risk_terrain_${stem}.png`);
        },
        csvTestid: 'rt-export-csv',
        pngTestid: 'rt-export-png',
      },
      'rt-factors-panel',
    );
  }
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, label ? h('span', null, label) : null, control);
}
