// "Did it work?" (issue #8): the territory's prevention measures (cameras, posts, patrols,
// lighting, …) recorded with a centre, a radius and a start; a form to record one (click the map
// for the centre; administrators, analysts and commanders); and for the chosen measure the
// before/after comparison of its target area, a displacement buffer and a control ring
// (GET …/interventions/{id}/evaluation): the verdict in words, the counts, the WDQ, the weekly or
// monthly series with the start marked, and the three rings on our offline map.
//
// #/evaluation?territory=NAME&id=ID opens a measure.

import { Map as MlMap, NavigationControl, ScaleControl, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { ApiError, enc, getJson, postJson, qs, type Evaluation, type Intervention, type Territory } from '../api';
import { drawLines, type LineSeries } from '../charts/canvas';
import { field, h, replace, select } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import { addDays, fmtDate, fmtEpoch } from '../coordination';
import {
  COUNTS_CSV_HEADER,
  EVAL_DEFAULTS,
  KINDS,
  SERIES_CSV_HEADER,
  areaFeatures,
  areaLabel,
  changeText,
  confidenceText,
  coord,
  countRows,
  countWindows,
  countsCsvRows,
  distanceText,
  interventionBody,
  interventionProblems,
  kindLabel,
  lastDay,
  periodLabel,
  rangeText,
  seriesCsvRows,
  seriesValues,
  signedDec,
  verdictSentence,
  verdictTitle,
  wdqSentences,
  type SeriesScale,
} from '../evaluation';
import { catName, fmtDec, fmtInt, t } from '../i18n';
import { EMPTY, baseLayersAbove, baseLayersBelow, bboxOf, webglAvailable, type FC, type MapHook } from '../map/base';
import { sequentialBreaks } from '../map/colors';
import { can, categories, defaultTerritory, filters, role, territories } from '../state';
import { errorBox, loading, message, panel, serverError } from '../ui';
import { defaultRange } from './range';

/** Colours of the three areas (the map, the chart and the table's keys). */
export const AREA_COLORS = { target: '#c0392b', buffer: '#d68910', control: '#2166ac' };

interface Params {
  before_days: number;
  after_days: number;
  buffer: number;
  control_radius: number;
  period: 'week' | 'month';
  category: string;
}

/** Kept while the application is open: the evaluation's settings and the chart's scale. */
const evState = {
  params: { ...EVAL_DEFAULTS, category: '' } as Params,
  scale: 'index' as SeriesScale,
};

interface EvalHook extends MapHook {
  map: MlMap | null;
  evState: 'idle' | 'loading' | 'loaded' | 'error';
  interventions: number;
  /** Areas drawn on the map (3 with a buffer). */
  ringsDrawn: number;
  contextCells: number;
}

function style(): StyleSpecification {
  return {
    version: 8,
    sources: {
      bounds: { type: 'geojson', data: EMPTY },
      context: { type: 'geojson', data: EMPTY },
      areas: { type: 'geojson', data: EMPTY },
      points: { type: 'geojson', data: EMPTY },
      draft: { type: 'geojson', data: EMPTY },
    },
    layers: [
      ...baseLayersBelow(),
      { id: 'context-fill', type: 'fill', source: 'context', paint: { 'fill-color': ['get', '_c'], 'fill-opacity': 0.55 } },
      ...baseLayersAbove(),
      {
        id: 'areas-fill',
        type: 'fill',
        source: 'areas',
        paint: {
          'fill-color': ['match', ['get', 'area'], 'target', AREA_COLORS.target, 'buffer', AREA_COLORS.buffer, AREA_COLORS.control],
          'fill-opacity': ['match', ['get', 'area'], 'target', 0.3, 'buffer', 0.18, 0.08],
        },
      },
      {
        id: 'areas-line',
        type: 'line',
        source: 'areas',
        paint: { 'line-color': ['match', ['get', 'area'], 'target', AREA_COLORS.target, 'buffer', AREA_COLORS.buffer, AREA_COLORS.control], 'line-width': 2 },
      },
      { id: 'draft-fill', type: 'fill', source: 'draft', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#7a3db8', 'fill-opacity': 0.15 } },
      { id: 'draft-line', type: 'line', source: 'draft', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'line-color': '#7a3db8', 'line-width': 2, 'line-dasharray': [3, 2] } },
      { id: 'draft-point', type: 'circle', source: 'draft', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 5, 'circle-color': '#7a3db8', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
      {
        id: 'iv-points',
        type: 'circle',
        source: 'points',
        paint: {
          'circle-radius': ['case', ['get', 'selected'], 8, 6],
          'circle-color': ['case', ['get', 'selected'], '#e8b04a', '#1f3a5f'],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2,
        },
      },
    ],
  };
}

export async function render(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const hook: EvalHook = { map: null, evState: 'idle', interventions: 0, ringsDrawn: 0, contextCells: 0 };
  window.__qalqan = hook;
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
  let selectedId: number | null = Number(params.get('id') ?? '') || null;
  const mayRecord = can.interventions(role());
  let disposed = false;

  // ---- Layout ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'ev-territory' });
  const toolbar = h('div', { class: 'toolbar ev-toolbar' }, h('label', { class: 'tb-field' }, h('span', null, t('common.territory')), terrSel));
  const mapDiv = h('div', { class: 'map', 'data-testid': 'ev-map', role: 'region', 'aria-label': t('ev.mapTitle') });
  const legend = h('div', { class: 'legend', 'data-testid': 'ev-legend' });
  const statusBar = h('div', { class: 'map-status', 'data-testid': 'ev-status', 'aria-live': 'polite' });
  const mapNote = h('div', { class: 'map-notes' });
  const mapWrap = h('div', { class: 'fc-map-wrap ev-map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, statusBar, mapNote), legend, h('div', { class: 'map-hint' }, mayRecord ? t('ev.clickHintRecord') : t('ev.clickHint')));
  const listBox = h('div', { 'aria-live': 'polite' });
  const formBox = h('div');
  const evalBox = h('section', { class: 'ev-section', 'data-testid': 'ev-section', 'aria-labelledby': 'ev-eval-title' });
  replace(
    root,
    toolbar,
    h(
      'div',
      { class: 'dash ev' },
      h('h2', null, t('ev.title')),
      h('p', { class: 'hint fc-intro' }, t('ev.intro')),
      h('div', { class: 'fc-top' }, mapWrap, h('div', { class: 'ev-side' }, listBox, formBox)),
      evalBox,
    ),
  );

  // ---- Map ----
  let map: MlMap | null = null;
  let loaded: Promise<void> = Promise.resolve();
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

  const setSource = async (id: string, data: FC) => {
    await loaded;
    if (disposed || !map) return;
    (map.getSource(id) as GeoJSONSource | undefined)?.setData(data);
  };

  let boundsFc: FC = EMPTY;
  let contextFc: FC = EMPTY;
  let contextKey = '';
  let contextRange = '';
  let areasFc: FC = EMPTY;
  let interventions: Intervention[] = [];

  async function loadBoundaries(territory: string): Promise<void> {
    let fc: FC = EMPTY;
    try {
      fc = await getJson<FC>(`/territories/${enc(territory)}/boundaries`);
    } catch {
      /* none */
    }
    if (disposed || territory !== filters.territory) return;
    boundsFc = fc;
    await setSource('bounds', fc);
  }

  /** The incidents of a period on a 250 m grid, faint under the rings: where the measure stands. */
  async function loadContext(territory: string, from: string, to: string): Promise<void> {
    const key = `${territory}|${from}|${to}`;
    if (key === contextKey) return;
    contextKey = key;
    let fc: FC = EMPTY;
    try {
      fc = await getJson<FC>(`/territories/${enc(territory)}/hotspots${qs({ method: 'grid', cell: 250, cells: 'nonempty', from, to })}`);
    } catch {
      /* the rings alone */
    }
    if (disposed || key !== contextKey) return;
    const feats = fc.features.filter((f) => f.geometry && Number(f.properties?.count) > 0);
    const breaks = sequentialBreaks(feats.map((f) => Number(f.properties?.count)), 5);
    const colors = contextColors(breaks.length);
    for (const f of feats) {
      const v = Number(f.properties?.count);
      const i = breaks.findIndex((b) => v <= b);
      (f.properties as Record<string, unknown>)._c = colors[i < 0 ? colors.length - 1 : i];
    }
    contextFc = { type: 'FeatureCollection', features: feats };
    contextRange = from && to ? rangeText(from, to) : '';
    hook.contextCells = feats.length;
    await setSource('context', contextFc);
    drawLegend();
  }

  function drawLegend(): void {
    const row = (sw: HTMLElement, label: string) => h('div', { class: 'legend-row' }, sw, h('span', null, label));
    const ring = (c: string, fill: number) => h('span', { class: 'sw', style: `background:${hexA(c, fill)};border-color:${c};border-width:2px` });
    const rows: HTMLElement[] = [];
    if (areasFc.features.length) {
      rows.push(row(ring(AREA_COLORS.target, 0.3), t('ev.area.target')));
      if (areasFc.features.some((f) => f.properties?.area === 'buffer')) rows.push(row(ring(AREA_COLORS.buffer, 0.18), t('ev.area.buffer')));
      rows.push(row(ring(AREA_COLORS.control, 0.08), t('ev.area.control')));
    }
    if (interventions.length) rows.push(row(h('span', { class: 'sw-dot', style: 'background:#1f3a5f;width:11px;height:11px' }), t('ev.legendMeasure')));
    if (contextFc.features.length) {
      const colors = contextColors(5);
      rows.push(
        h(
          'div',
          { class: 'legend-row' },
          h('span', { class: 'ev-ramp', style: `background:linear-gradient(90deg, ${colors.map((c) => hexA(c, 0.55)).join(', ')})` }),
          h('span', null, t('ev.legendContext', { range: contextRange })),
        ),
      );
    }
    if (boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'territory')) rows.push(row(h('span', { class: 'sw-line' }), t('legend.boundary')));
    replace(legend, h('div', { class: 'legend-title' }, t('ev.legend')), ...rows);
  }

  function fit(bb: [number, number, number, number] | null, tries = 0): void {
    if (disposed || !map || !bb) return;
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(bb, tries + 1), 50);
      return;
    }
    map.resize();
    map.fitBounds(bb as LngLatBoundsLike, { padding: 30, duration: 0, maxZoom: 16 });
  }

  async function drawPoints(): Promise<void> {
    const fc: FC = {
      type: 'FeatureCollection',
      features: interventions.map((iv) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [iv.lon, iv.lat] }, properties: { id: iv.id, selected: iv.id === selectedId } })),
    };
    await setSource('points', fc);
  }

  // ---- The draft of a new measure (its centre and radius) ----
  let form: {
    lat: HTMLInputElement;
    lon: HTMLInputElement;
    radius: HTMLInputElement;
  } | null = null;

  async function drawDraft(): Promise<void> {
    if (!form) return setSource('draft', EMPTY);
    const lat = Number(form.lat.value), lon = Number(form.lon.value), r = Number(form.radius.value);
    if (form.lat.value.trim() === '' || form.lon.value.trim() === '' || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return setSource('draft', EMPTY);
    const feats: FC['features'] = [{ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: {} }];
    if (Number.isFinite(r) && r > 0 && r <= 5000) feats.unshift({ type: 'Feature', geometry: areaFeatures(lat, lon, { target_radius_m: r, buffer_outer_m: r, control_outer_m: r + 1 })[0].geometry, properties: {} });
    await setSource('draft', { type: 'FeatureCollection', features: feats });
  }

  if (map) {
    const m = map;
    m.on('click', (ev) => {
      const hit = m.queryRenderedFeatures(ev.point, { layers: ['iv-points'] })[0];
      if (hit) {
        const id = Number((hit.properties as Record<string, unknown>).id);
        if (Number.isFinite(id)) void choose(id);
        return;
      }
      if (form) {
        form.lat.value = coord(ev.lngLat.lat);
        form.lon.value = coord(ev.lngLat.lng);
        void drawDraft();
      }
    });
    m.on('mousemove', (ev) => {
      if (!m.isStyleLoaded()) return;
      m.getCanvas().style.cursor = m.queryRenderedFeatures(ev.point, { layers: ['iv-points'] }).length ? 'pointer' : form ? 'crosshair' : '';
    });
  }

  // ---- The list ----
  async function loadList(): Promise<void> {
    replace(listBox, loading());
    try {
      const r = await getJson<{ interventions: Intervention[] }>(`/territories/${enc(filters.territory)}/interventions`);
      if (disposed) return;
      interventions = [...r.interventions].sort((a, b) => b.starts_on.localeCompare(a.starts_on) || b.id - a.id);
    } catch (e) {
      if (disposed) return;
      interventions = [];
      replace(listBox, panel(t('ev.listTitle'), errorBox(e), undefined, 'ev-list'));
      return;
    }
    hook.interventions = interventions.length;
    drawList();
    drawLegend();
    await drawPoints();
  }

  function drawList(): void {
    const title = `${t('ev.listTitle')} (${fmtInt(interventions.length)})`;
    if (interventions.length === 0) {
      replace(listBox, panel(title, message('info', mayRecord ? t('ev.noneYetRecord') : t('ev.noneYet')), undefined, 'ev-list'));
      return;
    }
    const tbl = h(
      'table',
      { class: 'data ev-table', 'data-testid': 'ev-table' },
      h('caption', { class: 'visually-hidden' }, t('ev.listTitle')),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('ev.measureCol')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('ev.evaluate'))))),
      h(
        'tbody',
        null,
        interventions.map((iv) =>
          h(
            'tr',
            { 'data-id': iv.id, 'data-testid': `ev-row-${iv.id}`, class: iv.id === selectedId ? 'selected' : '', 'aria-current': iv.id === selectedId ? 'true' : null },
            h(
              'th',
              { scope: 'row', class: 'ev-name' },
              iv.name,
              h('div', { class: 'ev-facts' }, [kindLabel(iv.kind), t('ev.startedOn', { date: fmtDate(iv.starts_on) }), t('ev.radiusText', { n: fmtInt(iv.radius_m) })].join(' · ')),
              h(
                'div',
                { class: 'hint' },
                iv.assignment_id !== null ? [h('a', { href: `#/coordination?assignment=${iv.assignment_id}` }, t('ev.assignmentShort', { id: iv.assignment_id })), ' · '] : null,
                t('ev.recordedBy', { who: iv.created_by, when: fmtEpoch(iv.created_at) }),
              ),
              iv.note ? h('div', { class: 'hint ev-note' }, iv.note) : null,
            ),
            h(
              'td',
              null,
              h('button', { type: 'button', class: iv.id === selectedId ? 'btn-small btn-primary' : 'btn-small', 'data-testid': `ev-open-${iv.id}`, 'aria-pressed': iv.id === selectedId ? 'true' : 'false', onclick: () => void choose(iv.id) }, t('ev.evaluate')),
            ),
          ),
        ),
      ),
    );
    replace(listBox, panel(title, h('div', { class: 'table-scroll ev-list-scroll' }, tbl), undefined, 'ev-list'));
  }

  // ---- The form of a new measure ----
  function drawForm(): void {
    if (!mayRecord) {
      form = null;
      replace(formBox, h('p', { class: 'hint', 'data-testid': 'ev-only-managers' }, t('ev.onlyManagers')));
      return;
    }
    const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', 'data-testid': 'ev-new-name' });
    const kind = select('kind', KINDS.map((k) => [k, kindLabel(k)]), 'camera_cluster', { 'data-testid': 'ev-new-kind' });
    const start = h('input', { type: 'date', name: 'starts_on', required: true, 'data-testid': 'ev-new-start' });
    const lat = h('input', { type: 'number', name: 'lat', step: 'any', min: -90, max: 90, required: true, inputmode: 'decimal', 'data-testid': 'ev-new-lat', 'aria-describedby': 'ev-centre-hint' });
    const lon = h('input', { type: 'number', name: 'lon', step: 'any', min: -180, max: 180, required: true, inputmode: 'decimal', 'data-testid': 'ev-new-lon', 'aria-describedby': 'ev-centre-hint' });
    const radius = h('input', { type: 'number', name: 'radius_m', value: 200, min: 10, max: 5000, step: 1, required: true, inputmode: 'numeric', 'data-testid': 'ev-new-radius' });
    const assignment = h('input', { type: 'number', name: 'assignment_id', min: 1, step: 1, inputmode: 'numeric', 'data-testid': 'ev-new-assignment' });
    const note = h('textarea', { name: 'note', rows: 2, maxlength: 2000, class: 'prose', 'data-testid': 'ev-new-note' });
    const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'ev-new-submit' }, t('ev.record'));
    form = { lat, lon, radius };
    for (const x of [lat, lon, radius]) x.addEventListener('input', () => void drawDraft());
    const el = h(
      'form',
      { class: 'card ev-form', 'data-testid': 'ev-new-form', novalidate: true },
      h('h3', null, t('ev.newTitle')),
      h('p', { class: 'hint' }, t('ev.newHint')),
      h('div', { class: 'form-grid' }, field(t('ev.name'), name), field(t('ev.kind'), kind), field(t('ev.start'), start), field(t('ev.radiusM'), radius, t('ev.radiusHint'))),
      h(
        'fieldset',
        { class: 'co-fieldset' },
        h('legend', null, t('ev.centre')),
        h('div', { class: 'form-grid' }, field(t('ev.lat'), lat), field(t('ev.lon'), lon)),
        h('small', { class: 'hint', id: 'ev-centre-hint' }, t('ev.centreHint')),
      ),
      h('div', { class: 'form-grid' }, field(t('ev.assignment'), assignment, t('ev.assignmentHint'))),
      field(t('ev.note'), note),
      status,
      h('div', { class: 'form-actions' }, submit),
    );
    replace(formBox, el);
    el.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (submit.disabled) return;
      replace(status);
      const input = { name: name.value, kind: kind.value, starts_on: start.value, lat: lat.value, lon: lon.value, radius_m: radius.value, assignment_id: assignment.value, note: note.value };
      const problems = interventionProblems(input);
      if (problems.length) {
        replace(status, h('div', { 'data-testid': 'ev-new-error' }, message('error', problems.map((k) => t(k)).join(' '))));
        return;
      }
      submit.disabled = true;
      try {
        const rec = await postJson<Intervention>(`/territories/${enc(filters.territory)}/interventions`, interventionBody(input));
        if (disposed) return;
        el.reset();
        radius.value = '200';
        await drawDraft();
        replace(status, h('div', { 'data-testid': 'ev-new-done' }, message('ok', t('ev.recorded', { name: rec.name }))));
        selectedId = rec.id;
        await loadList();
        await choose(rec.id);
      } catch (e) {
        if (!disposed) replace(status, serverError(e, 'ev-new-error'));
      } finally {
        submit.disabled = false;
      }
    });
  }

  // ---- Choosing a measure and evaluating it ----
  let evSeq = 0;
  let redrawChart: (() => void) | null = null;

  async function choose(id: number): Promise<void> {
    selectedId = id;
    history.replaceState(null, '', `#/evaluation?territory=${enc(filters.territory)}&id=${id}`);
    drawList();
    await drawPoints();
    await evaluate();
  }

  async function evaluate(): Promise<void> {
    const iv = interventions.find((x) => x.id === selectedId);
    redrawChart = null;
    if (!iv) {
      areasFc = EMPTY;
      await setSource('areas', EMPTY);
      hook.ringsDrawn = 0;
      hook.evState = 'idle';
      drawLegend();
      replace(evalBox, h('h2', { id: 'ev-eval-title' }, t('ev.evalTitle')), message('info', interventions.length ? t('ev.pick') : mayRecord ? t('ev.noneYetRecord') : t('ev.noneYet')));
      return;
    }
    const my = ++evSeq;
    hook.evState = 'loading';
    const p = evState.params;
    // The areas as asked for, drawn at once (the server's answer confirms them).
    areasFc = { type: 'FeatureCollection', features: areaFeatures(iv.lat, iv.lon, { target_radius_m: iv.radius_m, buffer_outer_m: iv.radius_m + p.buffer, control_outer_m: Math.max(p.control_radius, iv.radius_m + p.buffer) }) };
    hook.ringsDrawn = areasFc.features.length;
    await setSource('areas', areasFc);
    drawLegend();
    fit(bboxOf(areasFc));

    const out = h('div', { class: 'ev-results', 'data-testid': 'ev-results', 'aria-live': 'polite', 'aria-busy': 'true' }, loading());
    replace(evalBox, h('h2', { id: 'ev-eval-title' }, t('ev.evalOf', { name: iv.name })), measureLine(iv), paramsForm(iv), out);
    try {
      const ev = await getJson<Evaluation>(
        `/territories/${enc(filters.territory)}/interventions/${iv.id}/evaluation${qs({
          before_days: p.before_days,
          after_days: p.after_days,
          buffer: p.buffer,
          control_radius: p.control_radius,
          period: p.period,
          category: p.category,
        })}`,
      );
      if (my !== evSeq || disposed) return;
      areasFc = { type: 'FeatureCollection', features: areaFeatures(iv.lat, iv.lon, ev.areas) };
      hook.ringsDrawn = areasFc.features.length;
      await setSource('areas', areasFc);
      drawLegend();
      showEvaluation(out, iv, ev);
      out.removeAttribute('aria-busy');
      hook.evState = 'loaded';
      void loadContext(filters.territory, ev.window.before_from, lastDay(ev.window.after_to));
    } catch (e) {
      if (my !== evSeq || disposed) return;
      out.removeAttribute('aria-busy');
      // The incidents of the window asked for, as the map's context.
      void loadContext(filters.territory, addDays(iv.starts_on, -p.before_days), addDays(iv.starts_on, p.after_days - 1));
      if (e instanceof ApiError && e.status === 400) {
        replace(out, h('div', { 'data-testid': 'ev-error' }, message('error', h('b', null, t('ev.cannot')), ' ', e.message)), h('p', { class: 'hint' }, t('ev.cannotHint')));
      } else {
        const box = errorBox(e);
        box.setAttribute('data-testid', 'ev-error');
        replace(out, box);
      }
      hook.evState = 'error';
    }
  }

  function measureLine(iv: Intervention): HTMLElement {
    return h(
      'p',
      { class: 'nr-context', 'data-testid': 'ev-measure' },
      [kindLabel(iv.kind), t('ev.startedOn', { date: fmtDate(iv.starts_on) }), t('ev.radiusText', { n: fmtInt(iv.radius_m) }), `${coord(iv.lat)}, ${coord(iv.lon)}`].join(' · '),
    );
  }

  function paramsForm(iv: Intervention): HTMLElement {
    const p = evState.params;
    const num = (name: string, value: number, min: number, max: number, testid: string) => h('input', { type: 'number', name, value, min, max, step: 1, required: true, inputmode: 'numeric', 'data-testid': testid, class: 'rt-num' });
    const before = num('before_days', p.before_days, 28, 3650, 'ev-before');
    const after = num('after_days', p.after_days, 14, 3650, 'ev-after');
    const buffer = num('buffer', p.buffer, 0, 5000, 'ev-buffer');
    const control = num('control_radius', p.control_radius, 100, 20000, 'ev-control');
    const period = select('period', [['week', t('ev.period.week')], ['month', t('ev.period.month')]], p.period, { 'data-testid': 'ev-period' });
    const cat = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'ev-category' });
    void categories()
      .catch(() => [] as string[])
      .then((codes) => {
        for (const c of codes) cat.appendChild(h('option', { value: c }, catName(c)));
        cat.value = p.category;
      });
    const run = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'ev-run' }, t('ev.run'));
    const reset = h('button', { type: 'button', class: 'btn', 'data-testid': 'ev-defaults' }, t('nr.defaults'));
    const el = h(
      'form',
      { class: 'toolbar ev-params', 'data-testid': 'ev-params' },
      lab(t('ev.beforeDays'), before),
      lab(t('ev.afterDays'), after),
      lab(t('ev.bufferM'), buffer),
      lab(t('ev.controlM'), control),
      lab(t('ev.periodLabel'), period),
      lab(t('common.category'), cat),
      h('div', { class: 'tb-actions' }, run, reset),
    );
    reset.addEventListener('click', () => {
      before.value = String(EVAL_DEFAULTS.before_days);
      after.value = String(EVAL_DEFAULTS.after_days);
      buffer.value = String(EVAL_DEFAULTS.buffer);
      control.value = String(EVAL_DEFAULTS.control_radius);
      period.value = EVAL_DEFAULTS.period;
      cat.value = '';
    });
    el.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (run.disabled) return;
      evState.params = {
        before_days: Math.round(Number(before.value)),
        after_days: Math.round(Number(after.value)),
        buffer: Number(buffer.value),
        control_radius: Number(control.value),
        period: period.value === 'month' ? 'month' : 'week',
        category: cat.value,
      };
      run.disabled = true;
      void evaluate();
    });
    void iv;
    return el;
  }

  function showEvaluation(out: HTMLElement, iv: Intervention, ev: Evaluation): void {
    const conf = ev.confidence;
    const stem = fileSlug(filters.territory, iv.name, iv.starts_on, ev.window.period, evState.params.category);

    // Verdict.
    const v = ev.target.verdict;
    const estimateNote = (e: Evaluation['target']) =>
      e.verdict !== 'not_estimable' && e.periods_before !== undefined
        ? t('ev.method', {
            before: fmtInt(e.periods_before ?? 0),
            after: fmtInt(e.periods_after ?? 0),
            period: t(ev.window.period === 'month' ? 'ev.periods.month' : 'ev.periods.week'),
            disp: fmtDec(e.dispersion ?? 1, 2, 2),
          })
        : null;
    const verdict = panel(
      t('ev.verdictTitle'),
      h(
        'div',
        { class: `ev-verdict verdict-${v}`, 'data-verdict': v },
        h('p', { class: 'ev-verdict-head', 'data-testid': 'ev-verdict-title' }, verdictTitle(v)),
        h('p', { class: 'ev-sentence', 'data-testid': 'ev-target-sentence' }, verdictSentence(ev.target, 'target', conf)),
        v === 'not_estimable' ? h('p', { class: 'hint', lang: 'en' }, ev.target.sentence) : null,
        ev.buffer ? h('p', { class: 'ev-sentence', 'data-testid': 'ev-buffer-sentence' }, verdictSentence(ev.buffer, 'buffer', conf)) : null,
        ev.buffer && ev.buffer.verdict === 'not_estimable' ? h('p', { class: 'hint', lang: 'en' }, ev.buffer.sentence) : null,
        h('p', { class: 'hint' }, estimateNote(ev.target) ?? '', ' ', t('ev.methodAbout', { conf: confidenceText(conf) })),
      ),
      undefined,
      'ev-verdict',
    );

    // Counts.
    const w = countWindows(ev);
    const rows = countRows(ev);
    const key = (area: 'target' | 'buffer' | 'control') => h('span', { class: 'ev-key', style: `background:${AREA_COLORS[area]}`, 'aria-hidden': 'true' });
    const countsTbl = h(
      'table',
      { class: 'data ev-counts', 'data-testid': 'ev-counts' },
      h('caption', { class: 'visually-hidden' }, t('ev.countsTitle')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('ev.areaCol'), h('div', { class: 'ev-dates' }, t('ev.distanceCol'))),
          h('th', { scope: 'col', class: 'num' }, t('ev.before'), h('div', { class: 'ev-dates' }, rangeText(w.before[0], w.before[1]))),
          h('th', { scope: 'col', class: 'num' }, t('ev.after'), h('div', { class: 'ev-dates' }, rangeText(w.after[0], w.after[1]))),
          h('th', { scope: 'col', class: 'num' }, t('ev.change')),
          h('th', { scope: 'col', class: 'num' }, t('ev.changeRel')),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { 'data-area': r.area },
            h('th', { scope: 'row' }, key(r.area), ' ', areaLabel(r.area), h('div', { class: 'ev-dates' }, distanceText(r.from, r.to))),
            h('td', { class: 'num', 'data-col': 'before' }, fmtInt(r.before)),
            h('td', { class: 'num', 'data-col': 'after' }, fmtInt(r.after)),
            h('td', { class: 'num' }, r.ratio === null ? t('common.none') : changeText(r.ratio)),
            h('td', { class: 'num' }, r.relative === null ? t('common.none') : changeText(r.relative)),
          ),
        ),
      ),
    );
    const counts = panel(
      t('ev.countsTitle'),
      h('div', null, h('div', { class: 'table-scroll-x' }, countsTbl), h('p', { class: 'hint' }, t('ev.countsHint', { days: fmtInt(ev.window.after_days) }))),
      { csv: () => downloadCsv(`evaluation_counts_${stem}.csv`, COUNTS_CSV_HEADER, countsCsvRows(ev)), csvTestid: 'ev-counts-csv' },
      'ev-counts-panel',
    );

    // WDQ.
    const wq = ev.wdq;
    const wdqBody = h(
      'div',
      { class: 'ev-wdq', 'data-displacement': wq.displacement },
      wdqSentences(wq).map((s, i) => h('p', { class: i === 0 ? 'ev-sentence' : '', 'data-testid': i === 0 ? 'ev-wdq-sentence' : null }, s)),
      wq.displacement !== 'not_estimable'
        ? h(
            'table',
            { class: 'kv ev-kv' },
            h('tr', null, h('th', { scope: 'row' }, 'WDQ'), h('td', { 'data-testid': 'ev-wdq-value' }, wq.wdq === null || wq.wdq === undefined ? t('ev.wdqUndefined') : signedDec(wq.wdq, 2))),
            h('tr', null, h('th', { scope: 'row' }, t('ev.successMeasure')), h('td', null, signedDec(wq.success, 3))),
            h('tr', null, h('th', { scope: 'row' }, t('ev.bufferMeasure')), h('td', null, signedDec(wq.buffer, 3))),
            h('tr', null, h('th', { scope: 'row' }, t('ev.netEffect')), h('td', null, signedDec(wq.total_net_effect, 1))),
          )
        : null,
      h('p', { class: 'hint' }, t('ev.wdqAbout')),
    );
    const wdqPanel = panel(t('ev.wdqTitle'), wdqBody, undefined, 'ev-wdq');

    // Chart.
    const s = ev.series;
    const labels = s.periods.map((p) => periodLabel(p, ev.window.period));
    const scaleSel = select('scale', [['index', t('ev.scale.index')], ['count', t('ev.scale.count')]], evState.scale, { 'data-testid': 'ev-scale' });
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'ev-chart', role: 'img' });
    const chartBody = h('div', null, canvas);
    const chartTitle = t(ev.window.period === 'month' ? 'ev.chartTitleMonth' : 'ev.chartTitleWeek');
    const lines = (): LineSeries[] => {
      const vals = seriesValues(s, evState.scale);
      return [
        { label: areaLabel('target'), color: AREA_COLORS.target, dash: [], marker: 'circle', values: vals.target },
        { label: areaLabel('buffer'), color: AREA_COLORS.buffer, dash: [6, 3], marker: 'square', values: vals.buffer },
        { label: areaLabel('control'), color: AREA_COLORS.control, dash: [2, 3], marker: 'triangle', values: vals.control },
      ];
    };
    const fmtY = (v: number) => fmtInt(Math.round(v));
    const opts = () => ({ mark: { index: s.first_after, label: t('ev.startMark', { date: fmtDate(iv.starts_on) }) }, yLabel: evState.scale === 'index' ? t('ev.yIndex') : t('ev.yCount') });
    const draw = () => {
      canvas.setAttribute('aria-label', `${chartTitle}. ${t('ev.chartAlt', { date: fmtDate(iv.starts_on) })}`);
      drawLines(canvas, Math.max(420, chartBody.clientWidth || 760), labels, lines(), '', fmtY, opts());
    };
    redrawChart = draw;
    scaleSel.addEventListener('change', () => {
      evState.scale = scaleSel.value === 'count' ? 'count' : 'index';
      draw();
    });
    const chart = panel(
      chartTitle,
      h(
        'div',
        null,
        h('div', { class: 'toolbar ev-chart-tools' }, lab(t('ev.scaleLabel'), scaleSel)),
        chartBody,
        h('p', { class: 'hint' }, t('ev.chartHint', { from: fmtDate(ev.window.before_from), to: fmtDate(lastDay(ev.window.after_to)) })),
      ),
      {
        csv: () => downloadCsv(`evaluation_series_${stem}.csv`, SERIES_CSV_HEADER, seriesCsvRows(s)),
        png: () => {
          const c = document.createElement('canvas');
          drawLines(c, 1000, labels, lines(), `${chartTitle} — ${iv.name}, ${filters.territory}`, fmtY, opts());
          downloadCanvas(c, `evaluation_series_${stem}.png`);
        },
        csvTestid: 'ev-series-csv',
        pngTestid: 'ev-series-png',
      },
      'ev-chart-panel',
    );

    replace(out, verdict, h('div', { class: 'ev-grid' }, counts, wdqPanel), chart);
    requestAnimationFrame(() => {
      if (redrawChart === draw) draw();
    });
  }

  // ---- Start ----
  async function showTerritory(): Promise<void> {
    evSeq++;
    contextKey = '';
    contextFc = EMPTY;
    areasFc = EMPTY;
    await setSource('context', EMPTY);
    await setSource('areas', EMPTY);
    drawForm();
    await drawDraft();
    const territory = filters.territory;
    await Promise.all([loadBoundaries(territory), loadList()]);
    if (disposed || territory !== filters.territory) return;
    if (selectedId !== null && !interventions.some((x) => x.id === selectedId)) selectedId = null;
    const pts: FC = { type: 'FeatureCollection', features: interventions.map((iv) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [iv.lon, iv.lat] }, properties: {} })) };
    await evaluate();
    if (selectedId === null) fit(bboxOf(boundsFc, (p) => p.kind === 'territory') ?? bboxOf(boundsFc) ?? bboxOf(pts));
    // Without an evaluation, the incidents of the territory's last year as the map's context.
    if (selectedId === null) {
      const r = await defaultRange(territory).catch(() => null);
      if (r && !disposed && territory === filters.territory && selectedId === null) {
        await loadContext(territory, r.from, r.to);
        if (!boundsFc.features.length && !interventions.length) fit(bboxOf(contextFc));
      }
    }
  }

  terrSel.addEventListener('change', () => {
    filters.territory = terrSel.value;
    selectedId = null;
    history.replaceState(null, '', `#/evaluation?territory=${enc(filters.territory)}`);
    void showTerritory();
  });

  await showTerritory();

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
    evSeq++;
    window.removeEventListener('resize', onResize);
    map?.remove();
    hook.map = null;
  };
}

/** Greys for the incidents under the rings (the rings keep the colours). */
const CONTEXT_GREYS = ['#e3e6ea', '#c9ced5', '#a9b0ba', '#858e9a', '#5f6975'];
function contextColors(n: number): string[] {
  if (n <= 0) return [];
  if (n === 1) return [CONTEXT_GREYS[2]];
  return Array.from({ length: n }, (_, i) => CONTEXT_GREYS[Math.round((i * (CONTEXT_GREYS.length - 1)) / (n - 1))]);
}

/** A colour with an alpha, for the legend's swatches. */
function hexA(hex: string, a: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)},${parseInt(m[2], 16)},${parseInt(m[3], 16)},${a})`;
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, label ? h('span', null, label) : null, control);
}
