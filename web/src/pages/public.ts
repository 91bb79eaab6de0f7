// #/public — open data without a login: for the territories an administrator has published, the
// aggregated figures of a period (by month, category and district; counts under 5 withheld) and
// the published 250 m cells on the offline map, with links to the open-data files.
// Only the /public/* endpoints are called: the page works with no session at all.

import { Map as MlMap, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { ApiError, getJson, qs, type PublicCells, type PublicCount, type PublicSummary, type PublicTerritory } from '../api';
import { drawColumns } from '../charts/canvas';
import { h, replace, select, type Child } from '../dom';
import { catName, fmtInt, lang, t, type Key } from '../i18n';
import { EMPTY, bboxOf, webglAvailable, type FC, type MapHook } from '../map/base';
import {
  cellClasses,
  cellColor,
  classLabel,
  downloadLinks,
  fmtDate,
  knownTotal,
  partialMonths,
  periodDays,
  periodError,
  publicPath,
  shownCount,
  sortRows,
  withheldCellsNote,
  withheldSum,
  type CellClass,
} from '../public';
import { errorText, loading, message } from '../ui';

/** Test hook (`window.__qalqan`), read by e2e/run.mjs scenario 16. */
interface PublicHook extends MapHook {
  map: MlMap | null;
  publicState: 'idle' | 'loading' | 'loaded' | 'error';
  /** Cells put on the map. */
  publicCells: number;
  publicTerritory: string;
}

/** The choice kept while the application is open (and in the address: #/public?territory=…&from=…&to=…). */
const pubState = { territory: '', from: '', to: '' };

const NO_DATA_COLOR = '#e9edf1';

function style(): StyleSpecification {
  return {
    version: 8,
    sources: { cells: { type: 'geojson', data: EMPTY }, outline: { type: 'geojson', data: EMPTY } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': NO_DATA_COLOR } },
      { id: 'pub-outline', type: 'line', source: 'outline', paint: { 'line-color': '#2b2b2b', 'line-width': 1.2 } },
      { id: 'pub-cells-fill', type: 'fill', source: 'cells', paint: { 'fill-color': ['get', '_c'], 'fill-opacity': 0.88 } },
      // Zoomed out, a 250 m cell is a pixel or two: an outline in its own colour keeps it visible.
      { id: 'pub-cells-halo', type: 'line', source: 'cells', maxzoom: 13, paint: { 'line-color': ['get', '_c'], 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 3, 11, 2, 13, 0.5] } },
      { id: 'pub-cells-line', type: 'line', source: 'cells', minzoom: 12, paint: { 'line-color': '#7a8796', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.3, 16, 0.8], 'line-opacity': 0.6 } },
    ],
  };
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, h('span', null, label), control);
}

/** A count for a table cell or a figure: the number, or «withheld» explained by the footnote and a tooltip. */
function countNode(v: PublicCount | undefined, threshold: number, noteId?: string): Child {
  const n = shownCount(v, threshold);
  if (n !== null) return fmtInt(n);
  return h('span', { class: 'withheld', title: t('pub.withheldTip'), tabindex: 0, 'aria-describedby': noteId ?? null, 'data-withheld': 'true' }, t('pub.withheld'));
}

let noteSeq = 0;

/** A table of a group (category, district, month) with «withheld» cells and the footnote on the rule. */
function groupTable<T extends { count: PublicCount }>(rows: T[], nameLabel: string, name: (r: T) => string, threshold: number, testid: string, sumNote: number | null): HTMLElement {
  const noteId = `pub-note-${++noteSeq}`;
  const anyWithheld = rows.some((r) => shownCount(r.count, threshold) === null);
  const table = h(
    'table',
    { class: 'data pub-table', 'data-testid': testid },
    h('thead', null, h('tr', null, h('th', null, nameLabel), h('th', { class: 'num' }, t('pub.count')))),
    h(
      'tbody',
      null,
      rows.map((r) => h('tr', null, h('td', null, name(r)), h('td', { class: 'num' }, countNode(r.count, threshold, anyWithheld ? noteId : undefined)))),
    ),
  );
  return h(
    'div',
    null,
    h('div', { class: 'pub-table-scroll' }, table),
    anyWithheld
      ? h('p', { class: 'hint pub-footnote', id: noteId, 'data-testid': `${testid}-note` }, h('b', null, t('pub.withheld')), ' — ', t('pub.withheldTip'), sumNote !== null ? ` ${t('pub.withheldSum', { n: fmtInt(sumNote) })}` : '')
      : null,
  );
}

function section(title: string, body: Child, testid: string, extra?: Child): HTMLElement {
  return h('section', { class: 'panel', 'data-testid': testid }, h('header', { class: 'panel-head' }, h('h3', null, title), extra ?? null), h('div', { class: 'panel-body' }, body));
}

export async function render(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const hook: PublicHook = { map: null, publicState: 'idle', publicCells: 0, publicTerritory: '' };
  window.__qalqan = hook;
  let disposed = false;
  const head = (): HTMLElement[] => [h('h2', null, t('nav.public')), h('p', { class: 'pub-intro', 'data-testid': 'pub-intro' }, t('pub.intro'))];
  const privacy = (): HTMLElement => section(t('pub.privacyTitle'), h('p', { class: 'pub-privacy-text' }, t('pub.privacy')), 'pub-privacy');
  const shell = h('div', { class: 'pub' }, head(), loading());
  replace(root, shell);

  let list: PublicTerritory[];
  try {
    list = (await getJson<{ territories: PublicTerritory[] }>('/public/territories', { noRedirect: true })).territories ?? [];
  } catch (e) {
    hook.publicState = 'error';
    replace(shell, head(), message('error', errorText(e)));
    return () => {};
  }
  if (list.length === 0) {
    hook.publicState = 'loaded';
    const none = message('info', t('pub.none'));
    none.setAttribute('data-testid', 'pub-none');
    replace(shell, head(), none, privacy());
    return () => {};
  }

  // ---- The choice: from the address, else as last time, else the first territory ----
  const asked = params.get('territory') ?? '';
  const notice = h('div', { 'data-testid': 'pub-notice' });
  if (asked && !list.some((x) => x.name === asked)) replace(notice, message('warn', t('pub.notFound', { name: asked })));
  // An address with a choice is taken whole (no period there = the server's default period).
  if (params.has('territory') || params.has('from') || params.has('to')) {
    Object.assign(pubState, { territory: asked || pubState.territory, from: params.get('from') ?? '', to: params.get('to') ?? '' });
  }
  if (!list.some((x) => x.name === pubState.territory)) Object.assign(pubState, { territory: list[0].name, from: '', to: '' });

  // ---- Controls ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), pubState.territory, { 'data-testid': 'pub-territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: pubState.from, 'data-testid': 'pub-from' });
  const toIn = h('input', { type: 'date', name: 'to', value: pubState.to, 'data-testid': 'pub-to' });
  const applyBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'pub-apply' }, t('common.apply'));
  const resetBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'pub-reset', title: t('pub.defaultPeriodHint') }, t('pub.defaultPeriod'));
  const form = h(
    'form',
    { class: 'toolbar pub-toolbar', 'data-testid': 'pub-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    h('div', { class: 'tb-actions' }, applyBtn, resetBtn),
  );
  const status = h('div', { class: 'pub-status', 'aria-live': 'polite', 'data-testid': 'pub-status' });
  const figures = h('div', { class: 'pub-figures', 'data-testid': 'pub-figures' });
  const chartBox = h('div');
  const catBox = h('div');
  const distBox = h('div');
  const downloads = h('div', { 'data-testid': 'pub-downloads-body' });

  const mapDiv = h('div', { class: 'map', 'data-testid': 'pub-map', role: 'region', 'aria-label': t('pub.map') });
  const legend = h('div', { class: 'legend', 'data-testid': 'pub-legend', hidden: true });
  const mapMsg = h('div', { class: 'map-notes' });
  const mapWrap = h('div', { class: 'fc-map-wrap pub-map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, mapMsg), legend, h('div', { class: 'map-hint' }, t('pub.clickHint')));
  const cellsNote = h('p', { class: 'hint pub-cells-note', 'data-testid': 'pub-cells-note' });

  replace(
    shell,
    head(),
    form,
    notice,
    status,
    figures,
    h(
      'div',
      { class: 'pub-top' },
      section(t('pub.map'), [mapWrap, cellsNote], 'pub-map-panel'),
      h('div', { class: 'pub-side' }, privacy(), section(t('pub.downloads'), downloads, 'pub-downloads')),
    ),
    h('div', { class: 'grid-2' }, chartBox, catBox),
    distBox,
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
      maxZoom: 17,
      dragRotate: false,
      pitchWithRotate: false,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    } as MapOptions);
    map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
    const m = map;
    loaded = new Promise<void>((res) => m.once('load', () => res()));
    m.on('mouseenter', 'pub-cells-fill', () => (m.getCanvas().style.cursor = 'pointer'));
    m.on('mouseleave', 'pub-cells-fill', () => (m.getCanvas().style.cursor = ''));
    m.on('click', 'pub-cells-fill', (ev) => {
      const f = ev.features?.[0];
      const n = Number(f?.properties?.count);
      if (!f || !Number.isFinite(n)) return;
      popup?.remove();
      popup = new Popup({ closeButton: true, maxWidth: '260px' })
        .setLngLat(ev.lngLat)
        .setDOMContent(h('div', { class: 'pub-popup', 'data-testid': 'pub-popup' }, t('pub.cellPopup', { n: fmtInt(n) })))
        .addTo(m);
    });
  } else {
    replace(mapMsg, message('error', t('map.webglMissing')));
  }
  hook.map = map;

  function fit(fc: FC, tries = 0): void {
    if (disposed || !map) return;
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(fc, tries + 1), 50);
      return;
    }
    map.resize();
    const bb = bboxOf(fc);
    if (bb) map.fitBounds(bb as LngLatBoundsLike, { padding: 24, duration: 0, maxZoom: 15 });
  }

  function drawLegend(classes: CellClass[]): void {
    if (classes.length === 0) {
      legend.hidden = true;
      return;
    }
    const l = lang();
    replace(
      legend,
      h('div', { class: 'legend-title' }, t('pub.legend')),
      classes.map((c) => h('div', { class: 'legend-row' }, h('span', { class: 'sw', style: `background:${c.color}` }), h('span', null, classLabel(c, l)))),
      h('div', { class: 'legend-row' }, h('span', { class: 'sw', style: `background:${NO_DATA_COLOR}` }), h('span', null, t('pub.legendNone'))),
    );
    legend.hidden = false;
  }

  async function drawCells(cells: PublicCells | null): Promise<void> {
    const features = (cells?.features ?? []).filter((f) => f.geometry && shownCount(f.properties?.count) !== null && f.properties.count > 0);
    const classes = cellClasses(features.map((f) => f.properties.count));
    const fc: FC = { type: 'FeatureCollection', features: features.map((f) => ({ ...f, properties: { count: f.properties.count, _c: cellColor(f.properties.count, classes) } })) };
    drawLegend(classes);
    if (cells) {
      cellsNote.textContent = withheldCellsNote(cells.qalqan, lang());
      replace(mapMsg, features.length === 0 && map ? message('info', t('pub.noCells')) : null);
    }
    await loaded;
    if (disposed || !map) return;
    popup?.remove();
    (map.getSource('cells') as GeoJSONSource).setData(fc);
    hook.publicCells = fc.features.length;
    fit(fc);
  }

  // ---- Figures, chart, tables, downloads ----
  let shown: PublicSummary | null = null;

  function figure(label: string, value: Child, sub: Child, testid: string): HTMLElement {
    return h('div', { class: 'pub-figure', 'data-testid': testid }, h('div', { class: 'pub-figure-label' }, label), h('div', { class: 'pub-figure-value' }, value), sub ? h('div', { class: 'pub-figure-sub' }, sub) : null);
  }

  function drawFigures(s: PublicSummary, cells: PublicCells | null): void {
    const l = lang();
    const total = knownTotal(s);
    replace(
      figures,
      figure(t('pub.total'), total === null ? countNode(null, s.threshold) : fmtInt(total), s.territory, 'pub-total'),
      figure(t('pub.period'), `${fmtDate(s.from, l)} – ${fmtDate(s.to, l)}`, t('pub.periodDays', { n: fmtInt(periodDays(s.from, s.to)) }), 'pub-period'),
      cells
        ? figure(t('pub.cellsPublished'), fmtInt(cells.features.length), t('pub.cellsWithheldShort', { n: fmtInt(cells.qalqan.withheld_cells) }), 'pub-cells-count')
        : null,
    );
  }

  function drawChart(s: PublicSummary): void {
    const months = [...s.by_month].sort((a, b) => a.month.localeCompare(b.month));
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'pub-chart', role: 'img', 'aria-label': t('pub.chartAlt', { from: s.from, to: s.to }) });
    const partial = partialMonths(s.from, s.to).filter((m) => months.some((x) => x.month === m));
    const body = h(
      'div',
      null,
      canvas,
      partial.length ? h('p', { class: 'hint', 'data-testid': 'pub-partial' }, t('pub.partial', { months: partial.join(', ') })) : null,
      h(
        'details',
        { class: 'pub-details' },
        h('summary', null, t('pub.monthTable')),
        groupTable(months, t('pub.month'), (r) => r.month, s.threshold, 'pub-months-table', withheldSum(months, knownTotal(s))),
      ),
    );
    replace(chartBox, section(t('pub.months'), body, 'pub-months'));
    requestAnimationFrame(() => {
      if (disposed) return;
      drawColumns(
        canvas,
        Math.max(320, body.clientWidth || 560),
        months.map((m) => m.month),
        months.map((m) => shownCount(m.count, s.threshold)),
        '',
        t('pub.withheld'),
        (v) => fmtInt(v),
      );
    });
  }

  function drawTables(s: PublicSummary): void {
    const total = knownTotal(s);
    const cats = sortRows(s.by_category, (r) => catName(r.category));
    replace(
      catBox,
      section(
        t('pub.categories'),
        cats.length ? groupTable(cats, t('common.category'), (r) => catName(r.category), s.threshold, 'pub-categories-table', withheldSum(cats, total)) : message('info', t('dash.noData')),
        'pub-categories',
      ),
    );
    const districts = sortRows(s.by_district, (r) => r.district);
    replace(
      distBox,
      section(
        t('pub.districts'),
        districts.length ? groupTable(districts, t('common.district'), (r) => r.district, s.threshold, 'pub-districts-table', null) : message('info', t('pub.noDistricts')),
        'pub-districts',
      ),
    );
  }

  function drawDownloads(s: PublicSummary): void {
    const labels: Record<string, Key> = { summaryCsv: 'pub.dlSummary', cellsGeojson: 'pub.dlCellsGeo', cellsCsv: 'pub.dlCellsCsv' };
    const l = lang();
    replace(
      downloads,
      h(
        'ul',
        { class: 'pub-downloads' },
        downloadLinks(s.territory, s).map((d) => h('li', null, h('a', { href: d.href, download: d.file, 'data-testid': `pub-dl-${d.key}` }, t(labels[d.key])))),
      ),
      h('p', { class: 'hint' }, t('pub.dlNote', { territory: s.territory, from: fmtDate(s.from, l), to: fmtDate(s.to, l) })),
    );
  }

  function syncAddress(): void {
    const want = `#/public${qs({ territory: pubState.territory, from: pubState.from, to: pubState.to })}`;
    if (location.hash !== want) history.replaceState(null, '', want);
  }

  let seq = 0;
  async function load(): Promise<void> {
    const my = ++seq;
    hook.publicState = 'loading';
    hook.publicTerritory = pubState.territory;
    replace(status);
    for (const b of [chartBox, catBox, distBox]) replace(b, loading());
    const terr = pubState.territory;
    const period = { from: pubState.from, to: pubState.to };
    applyBtn.disabled = true;
    const [sum, cells, outline] = await Promise.allSettled([
      getJson<PublicSummary>(publicPath(terr, 'summary', period), { noRedirect: true }),
      getJson<PublicCells>(publicPath(terr, 'cells', period), { noRedirect: true }),
      getJson<FC>(`/public/territories/${encodeURIComponent(terr)}/boundary`, { noRedirect: true }),
    ]);
    // The territory's outline under the cells (empty when it has no boundary).
    void loaded.then(() => {
      if (disposed || !map) return;
      (map.getSource('outline') as GeoJSONSource | undefined)?.setData(outline.status === 'fulfilled' ? outline.value : (EMPTY as FC));
    });
    if (my !== seq || disposed) return;
    applyBtn.disabled = false;
    syncAddress();
    if (sum.status === 'rejected') {
      hook.publicState = 'error';
      const e = sum.reason;
      // 404: no longer published — or published but without any incident yet.
      const text = e instanceof ApiError && e.status === 404 ? t(list.some((x) => x.name === terr) && /no figures/.test(e.message) ? 'pub.noFigures' : 'pub.notFound', { name: terr }) : e instanceof ApiError && e.status === 400 ? t('err.request', { status: 400, msg: e.message }) : errorText(e);
      replace(status, message('error', text));
      replace(figures);
      for (const b of [chartBox, catBox, distBox, downloads]) replace(b);
      await drawCells(null);
      cellsNote.textContent = '';
      return;
    }
    const s = sum.value;
    shown = s;
    fromIn.value = s.from;
    toIn.value = s.to;
    const c = cells.status === 'fulfilled' ? cells.value : null;
    if (cells.status === 'rejected') replace(status, message('error', errorText(cells.reason)));
    drawFigures(s, c);
    drawChart(s);
    drawTables(s);
    drawDownloads(s);
    await drawCells(c);
    if (my !== seq || disposed) return;
    hook.publicState = 'loaded';
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (periodError(fromIn.value, toIn.value)) {
      replace(status, message('error', t('pub.badPeriod')));
      return;
    }
    pubState.territory = terrSel.value;
    pubState.from = fromIn.value;
    pubState.to = toIn.value;
    void load();
  });
  terrSel.addEventListener('change', () => {
    Object.assign(pubState, { territory: terrSel.value, from: '', to: '' });
    fromIn.value = toIn.value = '';
    void load();
  });
  resetBtn.addEventListener('click', () => {
    Object.assign(pubState, { from: '', to: '' });
    fromIn.value = toIn.value = '';
    void load();
  });
  void load();

  // The chart is sized to its panel: redraw on a width change.
  let lastW = window.innerWidth;
  const onResize = () => {
    if (Math.abs(window.innerWidth - lastW) > 40 && shown) {
      lastW = window.innerWidth;
      drawChart(shown);
    }
  };
  window.addEventListener('resize', onResize);
  return () => {
    disposed = true;
    seq++;
    window.removeEventListener('resize', onResize);
    popup?.remove();
    map?.remove();
    hook.map = null;
  };
}
