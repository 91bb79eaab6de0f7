// Forecast: the cells a model expects to hold the most incidents in the next shift, day or week
// (GET …/forecast) on the offline map, the model card with its backtest score, the fairness check
// per district, and the backtest of the models side by side (GET …/forecast/backtest).

import { Map as MlMap, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { enc, getJson, qs, type BacktestResult, type Forecast, type ForecastCellProps, type ForecastHorizon, type ForecastMeta, type ForecastModel, type Territory } from '../api';
import { drawLines, drawPairedBars } from '../charts/canvas';
import { h, replace, select, type Child } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import {
  CELL_SIZES,
  CELLS_CSV_HEADER,
  COVERAGES,
  DISTRICTS_CSV_HEADER,
  FLAG_MIN_DIFF,
  FLAG_RATIO,
  FORECAST_DEFAULTS,
  HORIZONS,
  MODELS,
  RANK_COLORS,
  areaText,
  backtestSentences,
  backtestTableRows,
  bestIndex,
  btCoverages,
  btCsvHeader,
  btCsvRows,
  btSeries,
  cellLines,
  cellsCsvRows,
  coverageIndex,
  districtCsvRows,
  districtLabel,
  districtRows,
  fitMetaText,
  fitText,
  flaggedDistricts,
  fmtPct,
  fmtPei,
  fmtPoints,
  fmtRatio,
  fmtShortDay,
  fmtStamp,
  horizonName,
  horizonText,
  isModel,
  modelAbout,
  modelName,
  modelStyle,
  rankClass,
  rankClasses,
  rankLegendLabel,
  windowText,
  type DistrictRow,
} from '../forecast';
import { catName, fmtDec, fmtInt, t } from '../i18n';
import { EMPTY, baseLayersAbove, baseLayersBelow, bboxOf, webglAvailable, type FC, type MapHook } from '../map/base';
import { categories, defaultTerritory, filters, territories } from '../state';
import { errorBox, loading, message, panel } from '../ui';

interface FcQuery {
  territory: string;
  model: ForecastModel;
  horizon: ForecastHorizon;
  coverage: string;
  cell: string;
  category: string;
  origin: string;
}

interface BtQuery {
  territory: string;
  cell: string;
  category: string;
  from: string;
  to: string;
  step: string;
  horizon: string;
  /** Empty: all models (the server's default). */
  models: string[];
}

/** One request per key: the same key again waits for the request under way; another key cancels it. */
interface Slot<Q, T> {
  result: { key: string; query: Q; data: T } | null;
  pending: { key: string; promise: Promise<{ key: string; query: Q; data: T }>; ctrl: AbortController } | null;
}

function fetchOnce<Q, T>(slot: Slot<Q, T>, key: string, query: Q): Promise<{ key: string; query: Q; data: T }> {
  if (slot.pending?.key === key) return slot.pending.promise;
  slot.pending?.ctrl.abort();
  const ctrl = new AbortController();
  const promise = getJson<T>(key, { signal: ctrl.signal })
    .then((data) => {
      const done = { key, query, data };
      slot.result = done;
      return done;
    })
    .finally(() => {
      if (slot.pending?.promise === promise) slot.pending = null;
    });
  slot.pending = { key, promise, ctrl };
  return promise;
}

/** Kept while the application is open: the settings, the last results and the requests under way. */
const fcState = {
  model: FORECAST_DEFAULTS.model as ForecastModel,
  horizon: FORECAST_DEFAULTS.horizon as ForecastHorizon,
  coverage: String(FORECAST_DEFAULTS.coverage),
  cell: String(FORECAST_DEFAULTS.cell),
  origin: '',
  forecast: { result: null, pending: null } as Slot<FcQuery, Forecast>,
  bt: { from: '', to: '', step: '', horizon: '', models: [...MODELS] as string[] },
  backtest: { result: null, pending: null } as Slot<BtQuery, BacktestResult>,
};

function forecastPath(q: FcQuery): string {
  return `/territories/${enc(q.territory)}/forecast${qs({ model: q.model, horizon: q.horizon, cell: q.cell, coverage: q.coverage, category: q.category, origin: q.origin })}`;
}

function backtestPath(q: BtQuery): string {
  return `/territories/${enc(q.territory)}/forecast/backtest${qs({ from: q.from, to: q.to, step: q.step, horizon: q.horizon, cell: q.cell, models: q.models.join(','), category: q.category })}`;
}

interface ForecastHook extends MapHook {
  map: MlMap | null;
  /** Selected cells drawn on the map. */
  forecastCells: number;
  forecastState: 'loading' | 'loaded' | 'error';
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
      { id: 'cells-fill', type: 'fill', source: 'cells', filter: ['has', '_c'], paint: { 'fill-color': ['get', '_c'], 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 12, 0.82, 16, 0.55] } },
      { id: 'cells-line', type: 'line', source: 'cells', filter: ['has', '_c'], paint: { 'line-color': ['get', '_c'], 'line-width': 0.8 } },
      ...baseLayersAbove(),
      { id: 'selected-line', type: 'line', source: 'selected', paint: { 'line-color': '#111111', 'line-width': 2.5 } },
    ],
  };
}

export async function render(root: HTMLElement): Promise<() => void> {
  const hook: ForecastHook = { map: null, forecastCells: 0, forecastState: 'loading' };
  window.__qalqan = hook;
  root.appendChild(loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    hook.forecastState = 'error';
    replace(root, errorBox(e));
    return () => {};
  }
  if (list.length === 0) {
    hook.forecastState = 'error';
    replace(root, message('info', t('common.noTerritories')));
    return () => {};
  }
  filters.territory = defaultTerritory(list);

  // ---- Controls ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'fc-territory' });
  const modelSel = select('model', MODELS.map((m) => [m, modelName(m)]), fcState.model, { 'data-testid': 'fc-model' });
  const horizonSel = select('horizon', HORIZONS.map((x) => [x, horizonName(x)]), fcState.horizon, { 'data-testid': 'fc-horizon' });
  const coverageSel = select('coverage', COVERAGES.map((c) => [String(c), fmtPct(c)]), fcState.coverage, { 'data-testid': 'fc-coverage' });
  const cellSel = select('cell', CELL_SIZES.map((c) => [String(c), String(c)]), fcState.cell, { 'data-testid': 'fc-cell' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'fc-category' });
  for (const c of await categories().catch(() => [] as string[])) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;
  const originIn = h('input', { type: 'date', name: 'origin', value: fcState.origin, 'data-testid': 'fc-origin', title: t('fc.originHint'), 'aria-describedby': 'fc-origin-hint' });
  const showBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'fc-show' }, t('fc.show'));
  const form = h(
    'form',
    { class: 'toolbar dash-toolbar fc-toolbar', 'data-testid': 'fc-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('fc.model'), modelSel),
    lab(t('fc.horizon'), horizonSel),
    lab(t('fc.coverage'), coverageSel),
    lab(t('map.cell'), cellSel),
    lab(t('common.category'), catSel),
    lab(t('fc.origin'), originIn),
    h('div', { class: 'tb-actions' }, showBtn),
  );

  const mapDiv = h('div', { class: 'map', 'data-testid': 'fc-map', role: 'region', 'aria-label': t('fc.legend') });
  const legend = h('div', { class: 'legend', 'data-testid': 'fc-legend', hidden: true });
  const statusBar = h('div', { class: 'map-status', 'data-testid': 'fc-status', 'aria-live': 'polite' });
  const mapNote = h('div', { class: 'map-notes' });
  const mapWrap = h('div', { class: 'fc-map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, statusBar, mapNote), legend, h('div', { class: 'map-hint' }, t('fc.clickHint')));
  const cardBox = h('div', { class: 'fc-card-box', 'aria-live': 'polite' });
  const fairBox = h('div');
  const btOut = h('div', { class: 'bt-results', 'data-testid': 'bt-results', 'aria-live': 'polite' });

  // ---- Backtest controls ----
  const bs = fcState.bt;
  const btFrom = h('input', { type: 'date', name: 'bt-from', value: bs.from, 'data-testid': 'bt-from' });
  const btTo = h('input', { type: 'date', name: 'bt-to', value: bs.to, 'data-testid': 'bt-to' });
  const btStep = select('bt-step', [['', t('bt.default')], ['day', t('bt.step.day')], ['week', t('bt.step.week')]], bs.step, { 'data-testid': 'bt-step' });
  const btHorizon = select('bt-horizon', [['', t('bt.default')], ...HORIZONS.map((x): [string, string] => [x, horizonName(x)])], bs.horizon, { 'data-testid': 'bt-horizon' });
  const btChecks = MODELS.map((m) => h('input', { type: 'checkbox', name: 'bt-model', value: m, checked: bs.models.includes(m), 'data-testid': `bt-model-${m}` }));
  const btRun = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'bt-run' }, t('bt.run'));
  const btForm = h(
    'form',
    { class: 'toolbar bt-toolbar', 'data-testid': 'bt-filters' },
    lab(t('bt.from'), btFrom),
    lab(t('bt.to'), btTo),
    lab(t('bt.step'), btStep),
    lab(t('fc.horizon'), btHorizon),
    h(
      'fieldset',
      { class: 'bt-models', 'data-testid': 'bt-models' },
      h('legend', null, t('bt.models')),
      MODELS.map((m, i) => h('label', null, btChecks[i], ' ', modelName(m))),
    ),
    h('div', { class: 'tb-actions' }, btRun),
  );

  replace(
    root,
    form,
    h(
      'div',
      { class: 'dash fc' },
      h('h2', null, t('fc.title')),
      h('p', { class: 'hint fc-intro' }, t('fc.intro')),
      h('p', { class: 'hint fc-intro', id: 'fc-origin-hint' }, `${t('fc.origin')}: ${t('fc.originHint')}.`),
      h('div', { class: 'fc-top' }, mapWrap, cardBox),
      fairBox,
      h(
        'section',
        { class: 'fc-backtest', 'data-testid': 'bt-section', 'aria-labelledby': 'bt-title' },
        h('h2', { id: 'bt-title' }, t('bt.title')),
        h('p', { class: 'hint fc-intro' }, t('bt.intro')),
        btForm,
        btOut,
      ),
    ),
  );

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
  let shownMeta: ForecastMeta | null = null;

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
    // Wait until the container has a size (see the map page), then fit.
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(tries + 1), 50);
      return;
    }
    map.resize();
    const bb = bboxOf(cellsFc) ?? bboxOf(boundsFc, (p) => p.kind === 'territory');
    if (bb) map.fitBounds(bb as LngLatBoundsLike, { padding: 30, duration: 0, maxZoom: 15 });
  }

  function drawLegend(meta: ForecastMeta | null): void {
    const rows: HTMLElement[] = [];
    const sw = (color: string, label: string): HTMLElement => h('div', { class: 'legend-row' }, h('span', { class: 'sw', style: `background:${color}` }), h('span', null, label));
    if (meta && meta.selected_cells > 0) for (const c of rankClasses(meta.selected_cells)) rows.push(sw(c.color, rankLegendLabel(c)));
    if (boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'territory')) {
      rows.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-line' }), h('span', null, t('legend.boundary'))));
      if (boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'district')) rows.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-line dashed' }), h('span', null, t('legend.district'))));
    }
    replace(legend, meta && meta.selected_cells > 0 ? h('div', { class: 'legend-title' }, t('fc.legend')) : null, ...rows);
    legend.hidden = rows.length === 0;
  }

  async function drawCells(data: Forecast | null): Promise<void> {
    const meta = data?.qalqan ?? null;
    const n = meta?.selected_cells ?? 0;
    const feats = (data?.features ?? []).filter((f) => f.geometry);
    for (const f of feats) (f.properties as ForecastCellProps & { _c?: string })._c = RANK_COLORS[rankClass(f.properties.rank, n || feats.length)];
    cellsFc = { type: 'FeatureCollection', features: feats as unknown as FC['features'] };
    popup?.remove();
    await loaded;
    if (disposed) return;
    if (map) {
      (map.getSource('cells') as GeoJSONSource).setData(cellsFc);
      (map.getSource('selected') as GeoJSONSource).setData(EMPTY);
      hook.forecastCells = feats.length;
    } else {
      hook.forecastCells = 0;
    }
    drawLegend(meta);
    statusBar.textContent = data ? t('fc.status', { n: fmtInt(feats.length) }) : '';
    fit();
  }

  if (map) {
    const m = map;
    m.on('click', (ev) => {
      const f = m.queryRenderedFeatures(ev.point, { layers: ['cells-fill'] })[0];
      popup?.remove();
      if (!f || !shownMeta) {
        (m.getSource('selected') as GeoJSONSource).setData(EMPTY);
        return;
      }
      const raw = f.properties as Record<string, unknown>;
      const p: ForecastCellProps = { cell: Number(raw.cell), rank: Number(raw.rank), score: Number(raw.score), district: raw.district === undefined || raw.district === null || raw.district === 'null' ? null : String(raw.district) };
      (m.getSource('selected') as GeoJSONSource).setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: f.geometry, properties: {} }] });
      const body = h(
        'div',
        { class: 'cell-info fc-popup', 'data-testid': 'fc-popup' },
        h('h4', null, t('map.cellTitle', { cell: String(p.cell) })),
        h('table', { class: 'kv' }, cellLines(p, shownMeta).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))),
      );
      popup = new Popup({ closeButton: true, maxWidth: '300px' }).setLngLat(ev.lngLat).setDOMContent(body).addTo(m);
      popup.on('close', () => {
        if (!disposed) (m.getSource('selected') as GeoJSONSource | undefined)?.setData(EMPTY);
      });
    });
    m.on('mousemove', (ev) => {
      if (!m.isStyleLoaded()) return;
      m.getCanvas().style.cursor = m.queryRenderedFeatures(ev.point, { layers: ['cells-fill'] }).length ? 'pointer' : '';
    });
  }

  // ---- Forecast ----

  const currentQuery = (): FcQuery => ({
    territory: filters.territory,
    model: fcState.model,
    horizon: fcState.horizon,
    coverage: fcState.coverage,
    cell: fcState.cell,
    category: filters.category,
    origin: fcState.origin,
  });

  let seq = 0;
  async function run(): Promise<void> {
    const my = ++seq;
    const q = currentQuery();
    hook.forecastState = 'loading';
    hook.forecastCells = 0;
    showBtn.disabled = true;
    cardBox.setAttribute('aria-busy', 'true');
    replace(cardBox, panel(t('fc.card'), h('div', null, loading(), h('p', { class: 'hint' }, t('fc.running'))), undefined, 'fc-card'));
    replace(fairBox);
    statusBar.textContent = t('fc.running');
    const boundaries = loadBoundaries(q.territory);
    try {
      const done = await fetchOnce(fcState.forecast, forecastPath(q), q);
      await boundaries;
      if (my !== seq || disposed) return;
      await show(done.query, done.data);
      if (my !== seq || disposed) return;
      hook.forecastState = 'loaded';
    } catch (e) {
      if (my !== seq || disposed) return;
      shownMeta = null;
      await drawCells(null);
      replace(cardBox, panel(t('fc.card'), errorBox(e), undefined, 'fc-card'));
      statusBar.textContent = '';
      hook.forecastState = 'error';
    } finally {
      if (my === seq) {
        showBtn.disabled = false;
        cardBox.removeAttribute('aria-busy');
      }
    }
  }

  async function show(q: FcQuery, data: Forecast): Promise<void> {
    const meta = data.qalqan;
    shownMeta = meta;
    replace(cardBox, modelCard(q, data));
    replace(fairBox, fairnessPanel(q, meta));
    await drawCells(data);
    if (meta.selected_cells === 0 || data.features.length === 0) replace(mapNote, message('info', t('fc.noCells')));
    else if (map) replace(mapNote);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters.territory = terrSel.value;
    filters.category = catSel.value;
    fcState.model = isModel(modelSel.value) ? modelSel.value : FORECAST_DEFAULTS.model;
    fcState.horizon = (HORIZONS as string[]).includes(horizonSel.value) ? (horizonSel.value as ForecastHorizon) : FORECAST_DEFAULTS.horizon;
    fcState.coverage = coverageSel.value;
    fcState.cell = cellSel.value;
    fcState.origin = originIn.value;
    void run();
  });

  // ---- Backtest ----

  let btSeq = 0;
  let redrawChart: (() => void) | null = null;

  const currentBt = (): BtQuery => ({
    territory: filters.territory,
    cell: fcState.cell,
    category: filters.category,
    from: bs.from,
    to: bs.to,
    step: bs.step,
    horizon: bs.horizon,
    models: bs.models.length === MODELS.length ? [] : MODELS.filter((m) => bs.models.includes(m)),
  });

  async function runBacktest(): Promise<void> {
    const my = ++btSeq;
    const q = currentBt();
    btRun.disabled = true;
    btOut.setAttribute('aria-busy', 'true');
    redrawChart = null;
    replace(btOut, loading(), h('p', { class: 'hint' }, t('bt.running')));
    try {
      const done = await fetchOnce(fcState.backtest, backtestPath(q), q);
      if (my !== btSeq || disposed) return;
      showBacktest(done.query, done.data);
    } catch (e) {
      if (my !== btSeq || disposed) return;
      replace(btOut, errorBox(e));
    } finally {
      if (my === btSeq) {
        btRun.disabled = false;
        btOut.removeAttribute('aria-busy');
      }
    }
  }

  btForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const models = btChecks.filter((c) => c.checked).map((c) => c.value);
    if (models.length === 0) {
      replace(btOut, message('error', t('bt.noModels')));
      return;
    }
    // The territory, cell size and category of the form at the top.
    filters.territory = terrSel.value;
    filters.category = catSel.value;
    fcState.cell = cellSel.value;
    bs.from = btFrom.value;
    bs.to = btTo.value;
    bs.step = btStep.value;
    bs.horizon = btHorizon.value;
    bs.models = models;
    void runBacktest();
  });

  // ---- Start: the forecast of these settings (known, under way, or asked now); the backtest if known ----
  const key = forecastPath(currentQuery());
  const known = fcState.forecast.result;
  if (known && known.key === key && !fcState.forecast.pending) {
    void loadBoundaries(known.query.territory).then(async () => {
      if (disposed) return;
      await show(known.query, known.data);
      hook.forecastState = 'loaded';
    });
  } else void run();
  const btKey = backtestPath(currentBt());
  if (fcState.backtest.pending?.key === btKey) void runBacktest();
  else if (fcState.backtest.result?.key === btKey) showBacktest(fcState.backtest.result.query, fcState.backtest.result.data);
  else replace(btOut, message('info', t('bt.prompt')));

  let lastW = window.innerWidth;
  const onResize = () => {
    if (Math.abs(window.innerWidth - lastW) > 40) {
      lastW = window.innerWidth;
      redrawChart?.();
    }
  };
  window.addEventListener('resize', onResize);

  return () => {
    disposed = true;
    seq++;
    btSeq++;
    window.removeEventListener('resize', onResize);
    popup?.remove();
    map?.remove();
    hook.map = null;
  };

  // ---- Panels ----

  function modelCard(q: FcQuery, data: Forecast): HTMLElement {
    const meta = data.qalqan;
    const tz = list.find((x) => x.name === q.territory)?.time_zone;
    const kv = (label: string, value: Child, testid?: string) => h('tr', null, h('th', { scope: 'row' }, label), h('td', { 'data-testid': testid }, value));
    const rows: HTMLElement[] = [
      kv(t('fc.window'), [windowText(meta), h('div', { class: 'hint' }, horizonText(meta), tz ? `; ${t('fc.localTime', { tz })}` : '')], 'fc-window'),
      kv(t('fc.area'), areaText(meta), 'fc-area'),
      kv(t('fc.cellSize'), t('nr.metres', { n: fmtInt(meta.cell_metres) })),
    ];
    if (meta.model === 'sepp' && meta.expected_events !== null && meta.expected_events !== undefined) rows.push(kv(t('fc.expected'), `≈ ${fmtDec(meta.expected_events, 0, meta.expected_events < 10 ? 1 : 0)}`, 'fc-expected'));
    rows.push(kv(t('fc.data'), `${t('fc.dataValue', { from: fmtStamp(meta.incidents_from), to: fmtStamp(meta.incidents_to) })} · ${catName(q.category || meta.category || null)}`));
    const btRows = backtestTableRows(meta);
    const body = h(
      'div',
      { class: 'fc-card' },
      h('h4', { 'data-testid': 'fc-model-name' }, modelName(meta.model)),
      h('p', { class: 'hint fc-about' }, modelAbout(meta.model)),
      h('table', { class: 'kv fc-kv' }, rows),
      meta.left_out > 0 ? h('p', { class: 'hint' }, t('fc.leftOut', { n: fmtInt(meta.left_out) })) : null,
      meta.fit ? h('div', { class: 'fc-fit', 'data-testid': 'fc-fit' }, h('h4', null, t('fc.fit')), h('p', null, fitText(meta.fit)), h('p', { class: 'hint' }, fitMetaText(meta.fit))) : null,
      h(
        'div',
        { class: 'fc-score', 'data-testid': 'fc-backtest-score' },
        h('h4', null, t('fc.bt')),
        backtestSentences(meta).map((s) => h('p', null, s)),
        btRows.length
          ? h(
              'table',
              { class: 'data fc-score-table' },
              h('caption', { class: 'visually-hidden' }, t('fc.bt')),
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('fc.model')), h('th', { scope: 'col', class: 'num' }, t('fc.hitRate')), h('th', { scope: 'col', class: 'num' }, 'PAI'), h('th', { scope: 'col', class: 'num' }, 'PEI*'))),
              h('tbody', null, btRows.map((r) => h('tr', null, h('th', { scope: 'row' }, r[0]), r.slice(1).map((c) => h('td', { class: 'num' }, c))))),
            )
          : null,
        h('p', { class: 'hint' }, t('fc.btHelp')),
      ),
    );
    const stem = fileSlug(q.territory, meta.model, meta.horizon, meta.origin.slice(0, 10), q.category);
    return panel(t('fc.card'), body, { csv: () => downloadCsv(`forecast_cells_${stem}.csv`, CELLS_CSV_HEADER, cellsCsvRows(data)), csvTestid: 'fc-cells-csv' }, 'fc-card');
  }

  function fairnessPanel(q: FcQuery, meta: ForecastMeta): HTMLElement {
    const ds = meta.districts ?? [];
    const title = t('fc.fair');
    if (ds.length === 0) return panel(title, message('info', t('fc.noDistricts')), undefined, 'fc-districts');
    const TOP = 15;
    const rows = districtRows(ds, TOP);
    const flagged = flaggedDistricts(ds);
    const rule = t('fc.fairRule', { ratio: fmtInt(FLAG_RATIO), pts: fmtDec(FLAG_MIN_DIFF * 100, 0) });
    const flaggedText = flagged.length ? t('fc.fairFlagged', { list: flagged.join(', ') }) : t('fc.fairNone');
    const scale = Math.max(1e-9, ...rows.map((r) => Math.max(r.forecastShare, r.incidentShare)));
    const bar = (v: number, cls: string) => h('span', { class: `fc-bar ${cls}`, style: `width:${Math.max(0, Math.min(100, (v / scale) * 100)).toFixed(1)}%` });
    const name = (r: DistrictRow) =>
      h(
        'th',
        { scope: 'row' },
        districtLabel(r),
        r.flagged ? [' ', h('span', { class: 'fc-flag', role: 'img', 'aria-label': t('fc.fairFlag'), title: t('fc.fairFlag') }, '⚑')] : null,
      );
    const tbl = h(
      'table',
      { class: 'data fc-districts-table', 'data-testid': 'fc-districts-table' },
      h('caption', { class: 'visually-hidden' }, title),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('common.district')),
          h('th', { scope: 'col', class: 'num' }, h('span', { class: 'fc-key fc-key-a', 'aria-hidden': 'true' }), ' ', t('fc.forecastShare')),
          h('th', { scope: 'col', class: 'num' }, h('span', { class: 'fc-key fc-key-b', 'aria-hidden': 'true' }), ' ', t('fc.incidentShare')),
          h('th', { scope: 'col', class: 'fc-bars-col' }, t('fc.bars')),
          h('th', { scope: 'col', class: 'num' }, t('fc.difference')),
          h('th', { scope: 'col', class: 'num' }, t('fc.forecastCells')),
          h('th', { scope: 'col', class: 'num' }, t('fc.incidents')),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { class: `${r.flagged ? 'flagged' : ''} ${r.kind === 'rest' ? 'total-row' : ''}`.trim(), 'data-flagged': r.flagged ? 'true' : 'false' },
            name(r),
            h('td', { class: 'num' }, fmtPct(r.forecastShare)),
            h('td', { class: 'num' }, fmtPct(r.incidentShare)),
            h('td', { class: 'fc-bars', 'aria-hidden': 'true' }, h('div', { class: 'fc-bar-track' }, bar(r.forecastShare, 'fc-bar-a')), h('div', { class: 'fc-bar-track' }, bar(r.incidentShare, 'fc-bar-b'))),
            h('td', { class: `num ${r.forecastShare - r.incidentShare > 0 ? 'up' : ''}` }, fmtPoints(r.forecastShare - r.incidentShare)),
            h('td', { class: 'num' }, fmtInt(r.forecastCells)),
            h('td', { class: 'num' }, fmtInt(r.incidents)),
          ),
        ),
      ),
    );
    const stem = fileSlug(q.territory, meta.model, meta.horizon, meta.origin.slice(0, 10), q.category);
    const notes = [t('fc.fairIntro'), rule, flaggedText];
    return panel(
      title,
      h(
        'div',
        null,
        h('p', { class: 'fc-fair-intro' }, t('fc.fairIntro')),
        h('p', { class: 'hint' }, rule, ds.filter((x) => x.district !== null).length > TOP + 1 ? ` ${t('fc.fairTop', { n: fmtInt(TOP) })}` : ''),
        h('p', { class: `fc-flagged ${flagged.length ? 'msg msg-warn' : 'hint'}`, 'data-testid': 'fc-flagged' }, flaggedText),
        h('div', { class: 'table-scroll-x' }, tbl),
      ),
      {
        csv: () => downloadCsv(`forecast_districts_${stem}.csv`, DISTRICTS_CSV_HEADER, districtCsvRows(ds)),
        png: () => {
          const c = document.createElement('canvas');
          drawPairedBars(
            c,
            820,
            rows.map((r) => `${r.flagged ? '⚑ ' : ''}${districtLabel(r)}`),
            rows.map((r) => r.forecastShare),
            rows.map((r) => r.incidentShare),
            t('fc.forecastShare'),
            t('fc.incidentShare'),
            `${title} — ${q.territory}, ${modelName(meta.model)}, ${windowText(meta)}`,
            (v) => fmtPct(v),
            notes,
          );
          downloadCanvas(c, `forecast_districts_${stem}.png`);
        },
        csvTestid: 'fc-districts-csv',
        pngTestid: 'fc-districts-png',
      },
      'fc-districts',
    );
  }

  function showBacktest(q: BtQuery, bt: BacktestResult): void {
    const covs = btCoverages(bt);
    const ci = coverageIndex(covs, 0.05);
    const p = bt.params;
    const context = h(
      'p',
      { class: 'nr-context', 'data-testid': 'bt-context' },
      [
        q.territory,
        catName(q.category || null),
        t('bt.params', {
          from: fmtStamp(p?.from ?? q.from),
          to: fmtStamp(p?.to ?? q.to),
          step: stepName(p?.step || q.step),
          horizon: horizonName(p?.horizon || q.horizon).toLocaleLowerCase() || t('bt.default'),
          cell: fmtInt(p?.cell ?? Number(q.cell)),
        }),
      ].join(' · '),
    );
    const stem = fileSlug(q.territory, q.category, p?.from ?? q.from, p?.to ?? q.to, p?.horizon);

    // Summary table: model × hit rate / PAI / PEI* at each coverage, seconds.
    const metric = (key: 'mean_hit_rate' | 'mean_pai' | 'mean_pei_star', i: number) => bt.models.map((m) => m.coverages?.[i]?.[key] ?? null);
    const cols: { head: string; values: (number | null)[]; fmt: (v: number | null) => string }[] = [];
    for (const [key, fmt] of [
      ['mean_hit_rate', (v: number | null) => fmtPct(v)],
      ['mean_pai', (v: number | null) => fmtRatio(v)],
      ['mean_pei_star', (v: number | null) => fmtPei(v)],
    ] as ['mean_hit_rate' | 'mean_pai' | 'mean_pei_star', (v: number | null) => string][])
      covs.forEach((c, i) => cols.push({ head: fmtPct(c), values: metric(key, i), fmt }));
    const best = cols.map((c) => (bt.models.length > 1 ? bestIndex(c.values) : -1));
    const group = (label: string) => h('th', { scope: 'colgroup', colspan: covs.length, class: 'period' }, label);
    const tbl = h(
      'table',
      { class: 'data compstat bt-table', 'data-testid': 'bt-table' },
      h('caption', { class: 'visually-hidden' }, t('bt.summary')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col', rowspan: 2 }, t('fc.model')),
          h('th', { scope: 'col', rowspan: 2, class: 'num' }, t('bt.origins')),
          h('th', { scope: 'col', rowspan: 2, class: 'num' }, t('bt.testEvents')),
          group(t('fc.hitRate')),
          group('PAI'),
          group('PEI*'),
          h('th', { scope: 'col', rowspan: 2, class: 'num' }, t('bt.seconds')),
        ),
        h('tr', null, cols.map((c) => h('th', { scope: 'col', class: 'num' }, c.head))),
      ),
      h(
        'tbody',
        null,
        bt.models.map((m, r) =>
          h(
            'tr',
            { 'data-model': m.model },
            h('th', { scope: 'row' }, modelName(m.model)),
            h('td', { class: 'num' }, fmtInt(m.origins)),
            h('td', { class: 'num' }, fmtInt(m.test_events)),
            cols.map((c, j) =>
              best[j] === r
                ? h('td', { class: 'num sig', title: t('bt.best') }, c.fmt(c.values[r]), ' ', h('span', { 'aria-label': t('bt.best'), role: 'img' }, '▲'))
                : h('td', { class: 'num' }, c.fmt(c.values[r])),
            ),
            h('td', { class: 'num' }, fmtDec(m.seconds, 1, 1)),
          ),
        ),
      ),
    );
    const summary = panel(
      t('bt.summary'),
      h('div', null, h('p', { class: 'hint nr-caption' }, t('bt.summaryHint')), h('div', { class: 'table-scroll-x' }, tbl), h('p', { class: 'hint' }, t('fc.btHelp'))),
      undefined,
      'bt-summary',
    );

    // Chart: hit rate at 5 % per origin, a line per model.
    const { origins, series } = btSeries(bt, ci);
    const lines = series.map((s, i) => ({ label: modelName(s.model), ...modelStyle(s.model, i), values: s.values }));
    const labels = origins.map((o) => fmtShortDay(o));
    const chartTitle = t('bt.chart', { pct: fmtPct(covs[ci]) });
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'bt-chart', role: 'img', 'aria-label': `${chartTitle}. ${t('bt.chartAlt')}` });
    const chartBody = h('div', null, canvas);
    const draw = () => drawLines(canvas, Math.max(360, chartBody.clientWidth || 640), labels, lines, '', (v) => fmtPct(v));
    redrawChart = draw;
    const chart = panel(
      chartTitle,
      h('div', null, chartBody, bt.test_events_outside_area > 0 ? h('p', { class: 'hint' }, t('bt.outside', { n: fmtInt(bt.test_events_outside_area) })) : null),
      {
        csv: () => downloadCsv(`forecast_backtest_${stem}.csv`, btCsvHeader(bt), btCsvRows(bt)),
        png: () => {
          const c = document.createElement('canvas');
          drawLines(c, 900, labels, lines, `${chartTitle} — ${context.textContent ?? ''}`, (v) => fmtPct(v));
          downloadCanvas(c, `forecast_backtest_${stem}.png`);
        },
        csvTestid: 'bt-export-csv',
        pngTestid: 'bt-export-png',
      },
      'bt-chart-panel',
    );
    replace(btOut, context, summary, chart);
    requestAnimationFrame(() => {
      if (redrawChart === draw) draw();
    });
  }
}

function stepName(step: string): string {
  return step === 'day' ? t('bt.step.day') : step === 'week' ? t('bt.step.week') : step || t('bt.default');
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, label ? h('span', null, label) : null, control);
}
