// The map: territory boundary and districts, hotspot cells coloured by the
// chosen statistic, incident points (custom WebGL layer), the cameras' view sectors
// (off by default). Fully offline style.

import { Map as MlMap, NavigationControl, Popup, ScaleControl, type ExpressionSpecification, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { ApiError, enc, getBinary, getJson, qs, type BeatCollection, type CameraCollection, type CameraCoverage, type Incident, type Territory } from '../api';
import { h, replace, select } from '../dom';
import { catName, fmtInt, t, type Key } from '../i18n';
import { EMPTY, baseLayersAbove, baseLayersBelow, bboxOf, webglAvailable, type FC } from '../map/base';
import { GI_CLASSES, LISA_CLUSTERS, colorProperty, featureColor, formatNumber, giClassKey, rampColors, sequentialBreaks, type Method } from '../map/colors';
import { PointLayer, categoryColor } from '../map/pointlayer';
import { GAP_COLOR, POST_COLORS, beatLayers, gapLayers, postLayers, streetLayers, usePlanIcons } from '../map/planlayers';
import { decodePoints, pointsBounds, type Points } from '../map/points';
import { colourBeats, fmtKm, imbalanceText } from '../optimise';
import { INACTIVE_COLOR, cameraColorExpression, cameraFromProps, cameraLegend, cameraLines, cameraPositions, linkName, ownerColor, ownerName } from '../planning';
import { can, categories, defaultTerritory, filters, role, territories, visibleDistricts } from '../state';
import { errorText, forbidden, loading, message } from '../ui';
import { postInfo } from './optimiser';
import { defaultRange } from './range';

type Overlay = 'streets' | 'posts' | 'beats' | 'gaps';
type LayerState = 'off' | 'loading' | 'loaded' | 'forbidden' | 'unavailable' | 'error';

const mapState: {
  method: Method;
  cell: string;
  shape: string;
  showPoints: boolean;
  showCells: boolean;
  showBounds: boolean;
  showCameras: boolean;
  district: string;
  show: Record<Overlay, boolean>;
} = {
  method: 'gi',
  cell: '250',
  shape: 'square',
  showPoints: true,
  showCells: true,
  showBounds: true,
  showCameras: false,
  district: '',
  show: { streets: false, posts: false, beats: false, gaps: false },
};

/** The view when the page was left (a language switch re-renders the page). */
let savedView: { territory: string; center: [number, number]; zoom: number } | null = null;

/** Last points download, kept across re-renders (language switch). */
let pointsCache: { key: string; points: Points } | null = null;

interface TestHook {
  map: MlMap | null;
  cells: number;
  cellsDrawn: number;
  points: number;
  pointsState: 'off' | 'loading' | 'loaded' | 'forbidden' | 'unavailable' | 'error';
  hotspotsState: 'loading' | 'loaded' | 'forbidden' | 'error';
  boundaries: number;
  /** Cameras drawn (view sectors on the map; 0 while the layer is off). */
  camerasDrawn: number;
  camerasState: LayerState;
  /** The planning layers: features drawn (0 while off) and their state. */
  streetsDrawn: number;
  streetsState: LayerState;
  postsDrawn: number;
  postsState: LayerState;
  beatsDrawn: number;
  beatsState: LayerState;
  gapsDrawn: number;
  gapsState: LayerState;
}

const OVERLAYS: Overlay[] = ['streets', 'posts', 'beats', 'gaps'];
/** The map layers of each planning overlay. */
const OVERLAY_LAYERS: Record<Overlay, string[]> = { streets: ['streets-line'], posts: ['posts-symbol'], beats: ['beats-fill', 'beats-line'], gaps: ['gaps-line'] };

/** The camera layers (drawn above the cells, under the selection outline). */
const CAMERA_LAYERS = ['cameras-fill', 'cameras-line', 'cameras-line-inactive', 'camera-points'];

function style(): StyleSpecification {
  return {
    version: 8,
    sources: {
      cells: { type: 'geojson', data: EMPTY },
      bounds: { type: 'geojson', data: EMPTY },
      selected: { type: 'geojson', data: EMPTY },
      cameras: { type: 'geojson', data: EMPTY },
      'camera-points': { type: 'geojson', data: EMPTY },
      streets: { type: 'geojson', data: EMPTY },
      posts: { type: 'geojson', data: EMPTY },
      beats: { type: 'geojson', data: EMPTY },
      gaps: { type: 'geojson', data: EMPTY },
    },
    layers: [
      ...baseLayersBelow(),
      ...beatLayers(false),
      ...streetLayers(false),
      { id: 'cells-fill', type: 'fill', source: 'cells', filter: ['has', '_c'], paint: { 'fill-color': ['get', '_c'], 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 12, 0.78, 16, 0.5] } },
      { id: 'cells-line', type: 'line', source: 'cells', filter: ['has', '_c'], minzoom: 12, paint: { 'line-color': '#ffffff', 'line-width': 0.4, 'line-opacity': 0.6 } },
      ...baseLayersAbove(),
      ...gapLayers(false),
      ...cameraLayers(),
      ...postLayers(false),
      { id: 'selected-line', type: 'line', source: 'selected', paint: { 'line-color': '#111111', 'line-width': 2.5 } },
    ],
  };
}

/**
 * View sectors: the owner's colour at low opacity with a solid outline for working cameras, grey with
 * a dashed outline for the others; positions as small circles, filled when connected to the
 * monitoring centre and hollow (a ring) when standalone, so the link does not rest on colour.
 */
function cameraLayers(): StyleSpecification['layers'] {
  const working: ExpressionSpecification = ['==', ['get', 'status'], 'working'];
  const connected: ExpressionSpecification = ['==', ['get', 'link'], 'connected'];
  const color = cameraColorExpression();
  const vis = mapState.showCameras ? 'visible' : 'none';
  return [
    { id: 'cameras-fill', type: 'fill', source: 'cameras', layout: { visibility: vis }, paint: { 'fill-color': color, 'fill-opacity': ['case', working, 0.2, 0.1] } },
    { id: 'cameras-line', type: 'line', source: 'cameras', filter: working, layout: { visibility: vis }, paint: { 'line-color': color, 'line-width': 1.3 } },
    { id: 'cameras-line-inactive', type: 'line', source: 'cameras', filter: ['!', working], layout: { visibility: vis }, paint: { 'line-color': INACTIVE_COLOR, 'line-width': 1.3, 'line-dasharray': [2, 2] } },
    {
      id: 'camera-points',
      type: 'circle',
      source: 'camera-points',
      layout: { visibility: vis },
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 15, 4, 18, 6],
        'circle-color': ['case', connected, color, '#ffffff'],
        'circle-stroke-color': ['case', connected, '#ffffff', color],
        'circle-stroke-width': ['case', connected, 1, 2],
      },
    },
  ];
}

export async function render(root: HTMLElement): Promise<() => void> {
  const hook: TestHook = {
    map: null,
    cells: 0,
    cellsDrawn: 0,
    points: 0,
    pointsState: 'off',
    hotspotsState: 'loading',
    boundaries: 0,
    camerasDrawn: 0,
    camerasState: 'off',
    streetsDrawn: 0,
    streetsState: 'off',
    postsDrawn: 0,
    postsState: 'off',
    beatsDrawn: 0,
    beatsState: 'off',
    gapsDrawn: 0,
    gapsState: 'off',
  };
  window.__qalqan = hook;
  root.appendChild(loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    replace(root, e instanceof ApiError && e.status === 403 ? forbidden() : message('error', errorText(e)));
    return () => {};
  }
  if (list.length === 0) {
    replace(root, message('info', t('common.noTerritories')));
    return () => {};
  }
  if (!webglAvailable()) {
    replace(root, message('error', t('map.webglMissing')));
    return () => {};
  }
  filters.territory = defaultTerritory(list);
  const showPointsAllowed = can.incidents(role());

  // ---- Controls ----
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'territory' });
  const fromIn = h('input', { type: 'date', name: 'from', 'data-testid': 'from' });
  const toIn = h('input', { type: 'date', name: 'to', 'data-testid': 'to' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'category' });
  const distSel = select('district', [['', t('common.allDistricts')]], '', { 'data-testid': 'district' });
  const methodSel = select(
    'method',
    (['grid', 'gi', 'lisa', 'kde'] as Method[]).map((m) => [m, t(`method.${m}` as Key)]),
    mapState.method,
    { 'data-testid': 'method' },
  );
  const cellSel = select('cell', ['100', '150', '200', '250', '300', '400', '500', '750', '1000'].map((c) => [c, c]), mapState.cell, { 'data-testid': 'cell' });
  const shapeSel = select('shape', [['square', t('shape.square')], ['hex', t('shape.hex')]], mapState.shape, { 'data-testid': 'shape' });
  const cellsChk = h('input', { type: 'checkbox', checked: mapState.showCells, 'data-testid': 'toggle-cells' });
  const pointsChk = h('input', { type: 'checkbox', checked: mapState.showPoints, 'data-testid': 'toggle-points' });
  const boundsChk = h('input', { type: 'checkbox', checked: mapState.showBounds, 'data-testid': 'toggle-bounds' });
  const camerasChk = h('input', { type: 'checkbox', checked: mapState.showCameras, 'data-testid': 'toggle-cameras' });
  const overlayChk: Record<Overlay, HTMLInputElement> = {
    streets: h('input', { type: 'checkbox', checked: mapState.show.streets, 'data-testid': 'toggle-streets' }),
    posts: h('input', { type: 'checkbox', checked: mapState.show.posts, 'data-testid': 'toggle-posts' }),
    beats: h('input', { type: 'checkbox', checked: mapState.show.beats, 'data-testid': 'toggle-beats' }),
    gaps: h('input', { type: 'checkbox', checked: mapState.show.gaps, 'data-testid': 'toggle-gaps' }),
  };
  const applyBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'apply' }, t('common.apply'));
  const fitBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'fit' }, t('map.fit'));

  const form = h(
    'form',
    { class: 'toolbar map-toolbar', 'data-testid': 'map-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    lab(t('common.category'), catSel),
    lab(t('common.district'), distSel),
    lab(t('map.method'), methodSel),
    lab(t('map.cell'), cellSel),
    lab(t('map.shape'), shapeSel),
    h('div', { class: 'tb-actions' }, applyBtn, fitBtn),
  );
  const toggles = h(
    'div',
    { class: 'map-toggles' },
    h('label', null, cellsChk, ' ', t('map.showCells')),
    showPointsAllowed ? h('label', { 'data-testid': 'points-toggle-label' }, pointsChk, ' ', t('map.showPoints')) : null,
    h('label', null, boundsChk, ' ', t('map.showBoundaries')),
    h('label', null, camerasChk, ' ', t('map.showCameras')),
    h('label', null, overlayChk.gaps, ' ', t('map.showGaps')),
    h('label', null, overlayChk.streets, ' ', t('map.showStreets')),
    h('label', null, overlayChk.posts, ' ', t('map.showPosts')),
    h('label', null, overlayChk.beats, ' ', t('map.showBeats')),
  );
  const statusBar = h('div', { class: 'map-status', 'data-testid': 'map-status' });
  const hint = h('div', { class: 'map-hint' }, showPointsAllowed ? t('map.clickHint') : t('map.clickHintCells'));
  const legend = h('div', { class: 'legend', 'data-testid': 'legend' });
  const side = h('aside', { class: 'side-panel', 'data-testid': 'side-panel', hidden: true });
  const closeSide = (): void => {
    side.hidden = true;
    replace(side);
    (map.getSource('selected') as GeoJSONSource | undefined)?.setData(EMPTY);
  };
  const mapDiv = h('div', { class: 'map', 'data-testid': 'map' });
  const notes = h('div', { class: 'map-notes', 'data-testid': 'map-notes' });
  replace(root, form, h('div', { class: 'map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, toggles, statusBar, notes), legend, side, hint));

  // Categories, dates, districts.
  const codes = await categories().catch(() => [] as string[]);
  for (const c of codes) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;

  async function loadTerritoryDefaults(): Promise<void> {
    const terr = terrSel.value;
    if (!filters.from && !filters.to) {
      const r = await defaultRange(terr).catch(() => null);
      if (r) {
        filters.from = r.from;
        filters.to = r.to;
      }
    }
    fromIn.value = filters.from;
    toIn.value = filters.to;
    // Districts: the ones this user may see (all of them, with or without polygons).
    replace(distSel, h('option', { value: '' }, t('common.allDistricts')));
    try {
      const { names, whole } = await visibleDistricts(terr);
      for (const n of names) distSel.appendChild(h('option', { value: n }, n));
      // A user limited to some districts has no territory-wide figures: start with their first district.
      if (!mapState.district && names.length && !whole) mapState.district = names[0];
    } catch {
      /* districts stay "all" */
    }
    distSel.value = mapState.district;
  }
  await loadTerritoryDefaults();

  // ---- Map ----
  const map = new MlMap({
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
  usePlanIcons(map);
  hook.map = map;
  const loaded = new Promise<void>((res) => map.once('load', () => res()));

  let pointLayer: PointLayer | null = null;
  let boundsFc: FC = EMPTY;
  let cellsFc: FC = EMPTY;
  let currentPoints: Points | null = null;
  let aborter: AbortController | null = null;
  let disposed = false;
  /** The register drawn, and the territory it belongs to. */
  let camerasFc: CameraCollection = { type: 'FeatureCollection', features: [] };
  let camerasOf = '';
  let cameraPopup: Popup | null = null;
  /** The planning overlays drawn: the key of what was loaded (territory, and the period for the gaps). */
  const overlayOf: Record<Overlay, string> = { streets: '', posts: '', beats: '', gaps: '' };
  let beatsFc: BeatCollection | null = null;

  function setNote(kind: 'info' | 'warn' | 'error', text: string, id: string): void {
    const old = notes.querySelector(`[data-note="${id}"]`);
    old?.remove();
    if (text) {
      const m = message(kind, text);
      m.dataset.note = id;
      notes.appendChild(m);
    }
  }

  /** True once the view shows the data (fitted, or restored from an earlier visit). */
  let placed = false;
  function fit(tries = 0): void {
    if (disposed) return;
    // The container may not be laid out yet (route changes): a fit computed for a zero-sized map
    // would show the whole world. Wait for a size (bounded), then measure again and fit.
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(tries + 1), 50);
      return;
    }
    map.resize();
    if (mapState.district) {
      const poly = boundsFc.features.find((f) => f.geometry && f.properties?.kind === 'district' && f.properties?.name === mapState.district);
      const dbb = poly ? bboxOf({ type: 'FeatureCollection', features: [poly] }) : bboxOf(cellsFc, (p) => Number(p.count) > 0);
      if (dbb) {
        map.fitBounds(dbb as LngLatBoundsLike, { padding: 40, duration: 0, maxZoom: 15 });
        placed = true;
        return;
      }
    }
    const bb = bboxOf(boundsFc, (p) => p.kind === 'territory') ?? bboxOf(cellsFc, (p) => Number(p.count) > 0) ?? (currentPoints ? pointsBounds(currentPoints) : null);
    if (bb) {
      map.fitBounds(bb as LngLatBoundsLike, { padding: 30, duration: 0, maxZoom: 15 });
      placed = true;
    }
  }

  function updateStatus(): void {
    const meta = (cellsFc.qalqan ?? {}) as Record<string, unknown>;
    const parts: string[] = [];
    if (hook.hotspotsState === 'loaded') parts.push(t('map.cellsCount', { n: fmtInt(hook.cellsDrawn), m: fmtInt(Number(meta.incidents ?? 0)) }));
    if (hook.pointsState === 'loaded') {
      parts.push(t('map.pointsCount', { n: fmtInt(hook.points) }));
      const drawn = pointLayer ? pointLayer.drawnAt(map.getZoom()) : hook.points;
      if (drawn < hook.points) parts.push(t('map.pointsSample', { m: fmtInt(drawn) }));
    }
    if (hook.pointsState === 'loading') parts.push(t('map.pointsLoading'));
    if (hook.hotspotsState === 'loading') parts.push(t('map.computing'));
    if (mapState.showCameras && hook.camerasState === 'loaded') parts.push(t('map.camerasCount', { n: fmtInt(hook.camerasDrawn) }));
    if (mapState.showCameras && hook.camerasState === 'loading') parts.push(t('map.camerasLoading'));
    if (mapState.show.streets && hook.streetsState === 'loaded') parts.push(t('map.streetsCount', { n: fmtInt(hook.streetsDrawn) }));
    if (mapState.show.posts && hook.postsState === 'loaded') parts.push(t('map.postsCount', { n: fmtInt(hook.postsDrawn) }));
    if (mapState.show.beats && hook.beatsState === 'loaded') parts.push(t('map.beatsCount', { n: fmtInt(hook.beatsDrawn) }));
    if (mapState.show.gaps && hook.gapsState === 'loaded') parts.push(t('map.gapsCount', { n: fmtInt(hook.gapsDrawn) }));
    if (OVERLAYS.some((o) => mapState.show[o] && hook[`${o}State`] === 'loading')) parts.push(t('map.layersLoading'));
    statusBar.textContent = parts.join(' · ');
  }

  function drawLegend(breaks: number[], colors: string[]): void {
    const m = mapState.method;
    const rows: HTMLElement[] = [];
    const sw = (color: string, label: string, cls = 'sw'): HTMLElement => h('div', { class: 'legend-row' }, h('span', { class: cls, style: `background:${color}` }), h('span', null, label));
    if (mapState.showCells) {
      if (m === 'gi') for (const g of GI_CLASSES) rows.push(sw(g.color, t(`gi.${g.key}` as Key)));
      else if (m === 'lisa') for (const l of LISA_CLUSTERS) rows.push(sw(l.color, t(`lisa.${l.key}` as Key)));
      else {
        rows.push(sw('transparent', t('legend.zero')));
        let lo = 0;
        breaks.forEach((b, i) => {
          rows.push(sw(colors[i], `${formatNumber(lo)} – ${formatNumber(b)}`));
          lo = b;
        });
      }
    }
    const title = m === 'gi' ? t('legend.gi') : m === 'lisa' ? t('legend.lisa') : m === 'kde' ? t('legend.kde') : t('legend.count');
    const extra: HTMLElement[] = [];
    if (mapState.showBounds && boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'territory')) {
      extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-line' }), h('span', null, t('legend.boundary'))));
      if (boundsFc.features.some((f) => f.geometry && f.properties?.kind === 'district')) extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-line dashed' }), h('span', null, t('legend.district'))));
    }
    if (pointLayer && mapState.showPoints && currentPoints) {
      // Only the categories that occur in the loaded points.
      const seen = new Set<number>();
      for (let i = 0; i < currentPoints.n; i++) seen.add(currentPoints.category[i]);
      currentPoints.meta.categories.forEach((c, i) => {
        if (!seen.has(i)) return;
        const [r, g, b] = categoryColor(c);
        extra.push(sw(`rgb(${r},${g},${b})`, catName(c), 'sw-dot'));
      });
    }
    if (mapState.showCameras && hook.camerasState === 'loaded' && hook.camerasDrawn > 0) {
      const cl = cameraLegend(camerasFc);
      extra.push(h('div', { class: 'legend-title legend-sub', 'data-testid': 'camera-legend' }, t('legend.cameras')));
      for (const o of cl.owners) extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw sw-sector', style: `background:${ownerColor(o)}40;border-color:${ownerColor(o)}` }), h('span', null, ownerName(o))));
      if (cl.inactive) extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw sw-sector inactive', style: `background:${INACTIVE_COLOR}26;border-color:${INACTIVE_COLOR}` }), h('span', null, t('legend.camInactive'))));
      if (cl.connected) extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-dot cam-dot' }), h('span', null, linkName('connected'))));
      if (cl.standalone) extra.push(h('div', { class: 'legend-row' }, h('span', { class: 'sw-dot cam-dot ring' }), h('span', null, linkName('standalone'))));
    }
    extra.push(...overlayLegend());
    replace(legend, mapState.showCells ? h('div', { class: 'legend-title' }, title) : null, ...rows, ...extra);
    legend.hidden = rows.length + extra.length === 0;
  }

  async function loadBoundaries(): Promise<void> {
    boundsFc = EMPTY;
    try {
      boundsFc = await getJson<FC>(`/territories/${enc(terrSel.value)}/boundaries`);
    } catch (e) {
      if (!(e instanceof ApiError && (e.status === 404 || e.status === 403))) setNote('warn', errorText(e), 'bounds');
    }
    hook.boundaries = boundsFc.features.filter((f) => f.geometry).length;
    await loaded;
    (map.getSource('bounds') as GeoJSONSource).setData(boundsFc);
  }

  async function loadHotspots(signal: AbortSignal): Promise<void> {
    hook.hotspotsState = 'loading';
    hook.cells = 0;
    hook.cellsDrawn = 0;
    updateStatus();
    setNote('info', '', 'hotspots');
    let fc: FC;
    try {
      fc = await getJson<FC>(
        `/territories/${enc(terrSel.value)}/hotspots${qs({ method: mapState.method, cell: mapState.cell, shape: mapState.shape, cells: 'nonempty', district: mapState.district, from: filters.from, to: filters.to, category: filters.category })}`,
        { signal },
      );
    } catch (e) {
      if (signal.aborted) return;
      hook.hotspotsState = e instanceof ApiError && e.status === 403 ? 'forbidden' : 'error';
      setNote('error', e instanceof ApiError && e.status === 403 ? t('map.hotspotsForbidden') : errorText(e), 'hotspots');
      cellsFc = EMPTY;
      (map.getSource('cells') as GeoJSONSource).setData(EMPTY);
      updateStatus();
      return;
    }
    const prop = colorProperty(mapState.method);
    const values = fc.features.map((f) => Number(f.properties?.[prop] ?? 0));
    const breaks = mapState.method === 'grid' || mapState.method === 'kde' ? sequentialBreaks(values) : [];
    const colors = rampColors(breaks.length);
    let drawn = 0;
    for (const f of fc.features) {
      const p = (f.properties ??= {});
      const c = featureColor(mapState.method, p, breaks, colors);
      if (c) {
        p._c = c;
        drawn++;
      }
    }
    cellsFc = fc;
    hook.cells = fc.features.length;
    hook.cellsDrawn = drawn;
    hook.hotspotsState = 'loaded';
    await loaded;
    if (signal.aborted) return;
    // Only coloured cells go to the map: fewer features to tile.
    (map.getSource('cells') as GeoJSONSource).setData({ type: 'FeatureCollection', features: fc.features.filter((f) => f.properties && '_c' in f.properties) });
    drawLegend(breaks, colors);
    if (Number((fc.qalqan ?? {}).incidents ?? 1) === 0) setNote('info', t('map.noIncidents'), 'hotspots');
    updateStatus();
  }

  async function loadPoints(signal: AbortSignal): Promise<void> {
    if (!showPointsAllowed) {
      hook.pointsState = 'forbidden';
      setNote('info', t('map.pointsHidden'), 'points');
      return;
    }
    if (!mapState.showPoints) {
      hook.pointsState = 'off';
      return;
    }
    const path = `/territories/${enc(terrSel.value)}/points${qs({ from: filters.from, to: filters.to, category: filters.category })}`;
    let pts: Points;
    if (pointsCache && pointsCache.key === path) pts = pointsCache.points;
    else {
      hook.pointsState = 'loading';
      updateStatus();
      try {
        pts = decodePoints(await getBinary(path, signal));
        pointsCache = { key: path, points: pts };
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.status === 403) {
          hook.pointsState = 'forbidden';
          setNote('info', t('map.pointsHidden'), 'points');
          toggles.querySelector('[data-testid="points-toggle-label"]')?.remove();
        } else if (e instanceof ApiError && e.status === 404) {
          hook.pointsState = 'unavailable';
        } else {
          hook.pointsState = 'error';
          setNote('error', errorText(e), 'points');
        }
        updateStatus();
        return;
      }
    }
    await loaded;
    if (signal.aborted) return;
    removePoints();
    currentPoints = pts;
    pointLayer = new PointLayer('incident-points', pts);
    map.addLayer(pointLayer);
    // Posts stay visible over the incident points.
    if (map.getLayer('posts-symbol')) map.moveLayer('posts-symbol');
    hook.points = pointLayer.drawn;
    hook.pointsState = 'loaded';
    updateStatus();
  }

  /**
   * Shows the camera layers while the toggle is on and the register is loaded. Not guarded by
   * isStyleLoaded(): that is false while any source is updating, and the toggle must still apply.
   */
  async function applyCameraVisibility(): Promise<void> {
    await loaded;
    if (disposed) return;
    const v = mapState.showCameras && hook.camerasState === 'loaded' ? 'visible' : 'none';
    for (const id of CAMERA_LAYERS) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', v);
    map.triggerRepaint();
  }

  /** The camera register of the territory (once per territory), drawn while the layer is on. */
  async function loadCameras(): Promise<void> {
    if (!mapState.showCameras) {
      hook.camerasState = 'off';
      hook.camerasDrawn = 0;
      setNote('info', '', 'cameras');
      updateStatus();
      await applyCameraVisibility();
      return;
    }
    const terr = terrSel.value;
    if (camerasOf !== terr) {
      hook.camerasState = 'loading';
      hook.camerasDrawn = 0;
      setNote('info', '', 'cameras');
      updateStatus();
      void applyCameraVisibility();
      let fc: CameraCollection;
      try {
        fc = await getJson<CameraCollection>(`/territories/${enc(terr)}/cameras`);
      } catch (e) {
        if (disposed || terrSel.value !== terr || !mapState.showCameras) return;
        camerasOf = '';
        camerasFc = { type: 'FeatureCollection', features: [] };
        hook.camerasState = e instanceof ApiError && e.status === 403 ? 'forbidden' : e instanceof ApiError && e.status === 404 ? 'unavailable' : 'error';
        setNote(hook.camerasState === 'error' ? 'error' : 'info', e instanceof ApiError && e.status === 403 ? t('map.camerasForbidden') : errorText(e), 'cameras');
        await loaded;
        if (disposed) return;
        (map.getSource('cameras') as GeoJSONSource).setData(EMPTY);
        (map.getSource('camera-points') as GeoJSONSource).setData(EMPTY);
        updateStatus();
        drawLegend(...currentBreaks());
        return;
      }
      if (disposed || terrSel.value !== terr) return;
      fc.features = (fc.features ?? []).filter((f) => f.properties);
      camerasFc = fc;
      camerasOf = terr;
      await loaded;
      if (disposed || camerasOf !== terr) return;
      (map.getSource('cameras') as GeoJSONSource).setData(camerasFc as unknown as FC);
      (map.getSource('camera-points') as GeoJSONSource).setData(cameraPositions(camerasFc));
    }
    if (!mapState.showCameras) return;
    hook.camerasDrawn = camerasFc.features.filter((f) => f.geometry).length;
    hook.camerasState = 'loaded';
    setNote('info', hook.camerasDrawn === 0 ? t('map.noCameras') : '', 'cameras');
    await applyCameraVisibility();
    updateStatus();
    drawLegend(...currentBreaks());
  }

  // ---- Planning overlays: streets, posts, beats, camera coverage gaps ----

  function overlayKey(o: Overlay): string {
    const terr = terrSel.value;
    return o === 'gaps' ? `${terr}|${filters.from}|${filters.to}|${filters.category}` : terr;
  }

  function overlayPath(o: Overlay): string {
    const terr = enc(terrSel.value);
    if (o === 'gaps') return `/territories/${terr}/cameras/coverage${qs({ from: filters.from, to: filters.to, category: filters.category })}`;
    return `/territories/${terr}/${o}`;
  }

  async function applyOverlayVisibility(o: Overlay): Promise<void> {
    await loaded;
    if (disposed) return;
    const v = mapState.show[o] && hook[`${o}State`] === 'loaded' ? 'visible' : 'none';
    for (const id of OVERLAY_LAYERS[o]) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', v);
    map.triggerRepaint();
  }

  function setOverlayCount(o: Overlay, n: number): void {
    if (o === 'streets') hook.streetsDrawn = n;
    else if (o === 'posts') hook.postsDrawn = n;
    else if (o === 'beats') hook.beatsDrawn = n;
    else hook.gapsDrawn = n;
  }

  function setOverlayState(o: Overlay, st: LayerState): void {
    if (o === 'streets') hook.streetsState = st;
    else if (o === 'posts') hook.postsState = st;
    else if (o === 'beats') hook.beatsState = st;
    else hook.gapsState = st;
  }

  /** Loads an overlay while its toggle is on (again when the territory, or for the gaps the period, changed). */
  async function loadOverlay(o: Overlay): Promise<void> {
    if (!mapState.show[o]) {
      setOverlayState(o, 'off');
      setOverlayCount(o, 0);
      setNote('info', '', o);
      updateStatus();
      await applyOverlayVisibility(o);
      return;
    }
    const key = overlayKey(o);
    if (overlayOf[o] !== key) {
      setOverlayState(o, 'loading');
      setOverlayCount(o, 0);
      setNote('info', '', o);
      updateStatus();
      void applyOverlayVisibility(o);
      let fc: FC;
      let count = 0;
      try {
        if (o === 'gaps') {
          const cov = await getJson<CameraCoverage>(overlayPath(o));
          fc = (cov.gaps ?? EMPTY) as unknown as FC;
          if (!cov.gaps) setNote('info', t('map.noGapsStreets'), o);
        } else if (o === 'beats') {
          const b = await getJson<BeatCollection>(overlayPath(o));
          beatsFc = b;
          fc = colourBeats(b) as FC;
        } else {
          fc = await getJson<FC>(overlayPath(o));
          if (o === 'posts') fc = { type: 'FeatureCollection', features: (fc.features ?? []).filter((f) => f.geometry) };
        }
        count = fc.features.length;
      } catch (e) {
        if (disposed || overlayKey(o) !== key || !mapState.show[o]) return;
        overlayOf[o] = '';
        const st: LayerState = e instanceof ApiError && e.status === 403 ? 'forbidden' : e instanceof ApiError && e.status === 404 ? 'unavailable' : 'error';
        setOverlayState(o, st);
        setNote(st === 'error' ? 'error' : 'info', `${t(`map.layer.${o}` as Key)}: ${errorText(e)}`, o);
        await loaded;
        if (disposed) return;
        (map.getSource(o) as GeoJSONSource).setData(EMPTY);
        updateStatus();
        drawLegend(...currentBreaks());
        return;
      }
      if (disposed || overlayKey(o) !== key) return;
      await loaded;
      if (disposed) return;
      (map.getSource(o) as GeoJSONSource).setData(fc);
      overlayOf[o] = key;
      setOverlayCount(o, count);
      if (count === 0 && o !== 'gaps') setNote('info', t(`map.none.${o}` as Key), o);
    }
    if (!mapState.show[o]) return;
    setOverlayState(o, 'loaded');
    await applyOverlayVisibility(o);
    updateStatus();
    drawLegend(...currentBreaks());
  }

  function overlayLegend(): HTMLElement[] {
    const rows: HTMLElement[] = [];
    const on = (o: Overlay) => mapState.show[o] && hook[`${o}State`] === 'loaded';
    const row = (sw: HTMLElement, label: string) => h('div', { class: 'legend-row' }, sw, h('span', null, label));
    if (on('streets') && hook.streetsDrawn > 0) rows.push(row(h('span', { class: 'sw-line streets' }), t('legend.streets')));
    if (on('gaps') && hook.gapsDrawn > 0) rows.push(row(h('span', { class: 'sw-line', style: `border-top-color:${GAP_COLOR}` }), t('legend.gaps')));
    if (on('posts') && hook.postsDrawn > 0) {
      rows.push(h('div', { class: 'legend-title legend-sub', 'data-testid': 'posts-legend' }, t('legend.posts')));
      rows.push(row(h('span', { class: 'sw-icon square', style: `background:${POST_COLORS.stationary}` }), t('legend.postStationary')));
      rows.push(row(h('span', { class: 'sw-icon triangle', style: `color:${POST_COLORS.mobile}` }), t('legend.postMobile')));
    }
    if (on('beats') && hook.beatsDrawn > 0 && beatsFc) {
      rows.push(h('div', { class: 'legend-title legend-sub', 'data-testid': 'beats-legend' }, t('legend.beats')));
      const colored = colourBeats(beatsFc).features;
      for (const f of colored.slice(0, 12)) {
        const p = (f.properties ?? {}) as Record<string, unknown>;
        rows.push(row(h('span', { class: 'sw', style: `background:${String(p._c)}` }), t('legend.beatRow', { name: String(p.name ?? ''), w: fmtKm(Number(p.workload ?? 0)) })));
      }
      if (beatsFc.summary) rows.push(h('div', { class: 'legend-row hint' }, imbalanceText(beatsFc.summary)));
    }
    return rows;
  }

  function removePoints(): void {
    if (pointLayer && map.getLayer(pointLayer.id)) map.removeLayer(pointLayer.id);
    pointLayer = null;
    currentPoints = null;
    hook.points = 0;
    if (hook.pointsState === 'loaded') hook.pointsState = 'off';
  }

  async function reload(refit: boolean, territoryChanged = false): Promise<void> {
    aborter?.abort();
    const ctl = new AbortController();
    aborter = ctl;
    removePoints();
    closeSide();
    const tasks: Promise<void>[] = [loadHotspots(ctl.signal), loadPoints(ctl.signal)];
    if (territoryChanged) {
      tasks.push(loadBoundaries());
      cameraPopup?.remove();
      tasks.push(loadCameras());
    }
    // The overlays follow the territory; the gaps also the period and category.
    for (const o of OVERLAYS) if (mapState.show[o] && overlayOf[o] !== overlayKey(o)) tasks.push(loadOverlay(o));
    await Promise.all(tasks);
    if (ctl.signal.aborted || disposed) return;
    drawLegend(...currentBreaks());
    applyVisibility();
    if (refit) fit();
  }

  function currentBreaks(): [number[], string[]] {
    if (mapState.method !== 'grid' && mapState.method !== 'kde') return [[], []];
    const prop = colorProperty(mapState.method);
    const b = sequentialBreaks(cellsFc.features.map((f) => Number(f.properties?.[prop] ?? 0)));
    return [b, rampColors(b.length)];
  }

  function applyVisibility(): void {
    if (!map.isStyleLoaded()) return;
    const vis = (on: boolean) => (on ? 'visible' : 'none');
    for (const id of ['cells-fill', 'cells-line']) map.setLayoutProperty(id, 'visibility', vis(mapState.showCells));
    for (const id of ['territory-fill', 'territory-line', 'district-line']) map.setLayoutProperty(id, 'visibility', vis(mapState.showBounds));
    map.triggerRepaint();
  }

  // ---- Interaction ----
  // The share of points drawn depends on the zoom: say so after each zoom.
  map.on('zoomend', () => updateStatus());
  map.on('click', async (ev) => {
    // A camera (its position or its view sector) answers first, in a popup.
    cameraPopup?.remove();
    cameraPopup = null;
    const cams = camerasAt(ev.point);
    if (cams.length) {
      cameraPopup = new Popup({ closeButton: true, maxWidth: '320px' }).setLngLat(ev.lngLat).setDOMContent(cameraInfo(cams)).addTo(map);
      return;
    }
    const planInfo = overlayInfoAt(ev.point);
    if (planInfo) {
      cameraPopup = new Popup({ closeButton: true, maxWidth: '320px' }).setLngLat(ev.lngLat).setDOMContent(planInfo).addTo(map);
      return;
    }
    const feats = mapState.showCells ? map.queryRenderedFeatures(ev.point, { layers: ['cells-fill'] }) : [];
    const content: HTMLElement[] = [];
    if (feats.length) {
      const p = feats[0].properties as Record<string, unknown>;
      (map.getSource('selected') as GeoJSONSource).setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: feats[0].geometry, properties: {} }] });
      content.push(cellInfo(p));
    } else {
      (map.getSource('selected') as GeoJSONSource).setData(EMPTY);
    }
    const nearbyBox = h('div', { class: 'nearby' });
    if (pointLayer && mapState.showPoints && map.getZoom() >= 13) content.push(nearbyBox);
    if (!content.length) return closeSide();
    side.hidden = false;
    replace(side, h('button', { type: 'button', class: 'side-close', title: t('common.close'), 'aria-label': t('common.close'), onclick: closeSide }, '×'), content);
    if (content.includes(nearbyBox)) {
      const r = 8;
      const a = map.unproject([ev.point.x - r, ev.point.y + r]);
      const b = map.unproject([ev.point.x + r, ev.point.y - r]);
      const bbox = [a.lng, a.lat, b.lng, b.lat].map((x) => x.toFixed(6)).join(',');
      nearbyBox.appendChild(loading());
      try {
        const res = await getJson<{ incidents: Incident[] }>(
          `/territories/${enc(terrSel.value)}/incidents${qs({ bbox, limit: 20, from: filters.from, to: filters.to, category: filters.category, district: mapState.district })}`,
        );
        replace(nearbyBox, nearbyList(res.incidents, list.find((x) => x.name === terrSel.value)?.time_zone));
      } catch (e) {
        replace(nearbyBox, e instanceof ApiError && e.status === 403 ? message('info', t('map.pointsHidden')) : message('error', errorText(e)));
      }
    }
  });
  map.on('mousemove', (ev) => {
    if (!map.isStyleLoaded()) return;
    const f = mapState.showCells ? map.queryRenderedFeatures(ev.point, { layers: ['cells-fill'] }) : [];
    map.getCanvas().style.cursor = f.length || camerasAt(ev.point).length ? 'pointer' : '';
  });

  /** A post, a coverage gap or a beat under a pixel, in a popup's content (in that order); null when none. */
  function overlayInfoAt(pt: { x: number; y: number }): HTMLElement | null {
    const r = 6;
    const box: [[number, number], [number, number]] = [[pt.x - r, pt.y - r], [pt.x + r, pt.y + r]];
    const q = (o: Overlay, id: string, where: typeof box | { x: number; y: number }) =>
      mapState.show[o] && hook[`${o}State`] === 'loaded' && map.getLayer(id) ? map.queryRenderedFeatures(where as [[number, number], [number, number]], { layers: [id] }) : [];
    const post = q('posts', 'posts-symbol', box)[0];
    if (post) return postInfo((post.properties ?? {}) as Record<string, unknown>);
    const gap = q('gaps', 'gaps-line', [[pt.x - 3, pt.y - 3], [pt.x + 3, pt.y + 3]])[0];
    if (gap) {
      const p = (gap.properties ?? {}) as Record<string, unknown>;
      const street = p.street && p.street !== 'null' ? String(p.street) : t('common.none');
      return infoTable(t('gap.title'), 'gap-popup', [
        [t('gap.street'), street],
        [t('gap.incidents'), fmtInt(Number(p.incidents ?? 0))],
        [t('gap.length'), t('nr.metres', { n: fmtInt(Math.round(Number(p.length_m ?? 0))) })],
        [t('gap.covered'), `${Math.round(Number(p.covered_share ?? 0) * 100)} %`],
      ]);
    }
    const beat = q('beats', 'beats-fill', pt)[0];
    if (beat) {
      const p = (beat.properties ?? {}) as Record<string, unknown>;
      const rows: [string, string][] = [];
      if (p.inspector && p.inspector !== 'null') rows.push([t('beat.inspector'), String(p.inspector)]);
      rows.push([t('beat.workload'), fmtKm(Number(p.workload ?? 0))]);
      for (const k of ['incidents', 'facilities', 'posts'] as const) if (p[k] !== undefined && p[k] !== null) rows.push([t(`beat.${k}` as Key), fmtInt(Number(p[k]))]);
      if (p.street_km !== undefined && p.street_km !== null) rows.push([t('beat.street_km'), fmtKm(Number(p.street_km))]);
      return infoTable(t('beat.title', { name: String(p.name ?? '') }), 'beat-popup', rows);
    }
    return null;
  }

  /** The cameras under a pixel: positions first (a few pixels around), then view sectors; each once. */
  function camerasAt(pt: { x: number; y: number }): Record<string, unknown>[] {
    if (!mapState.showCameras || hook.camerasState !== 'loaded' || !map.getLayer('camera-points')) return [];
    const r = 5;
    const near = map.queryRenderedFeatures([[pt.x - r, pt.y - r], [pt.x + r, pt.y + r]], { layers: ['camera-points'] });
    const inSector = map.queryRenderedFeatures([pt.x, pt.y], { layers: ['cameras-fill'] });
    const seen = new Set<string>();
    const out: Record<string, unknown>[] = [];
    for (const f of [...near, ...inSector]) {
      const p = (f.properties ?? {}) as Record<string, unknown>;
      const id = String(p.id ?? '');
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(p);
    }
    return out;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const terrChanged = terrSel.value !== filters.territory;
    filters.territory = terrSel.value;
    filters.from = fromIn.value;
    filters.to = toIn.value;
    filters.category = catSel.value;
    mapState.method = methodSel.value as Method;
    mapState.cell = cellSel.value;
    mapState.shape = shapeSel.value;
    void reload(terrChanged, terrChanged);
  });
  terrSel.addEventListener('change', async () => {
    filters.territory = terrSel.value;
    filters.from = '';
    filters.to = '';
    mapState.district = '';
    await loadTerritoryDefaults();
    void reload(true, true);
  });
  for (const sel of [methodSel, cellSel, shapeSel, catSel]) sel.addEventListener('change', () => form.requestSubmit());
  distSel.addEventListener('change', () => {
    // The hotspot grid is recomputed for the district (its boundary, if any, is the study area).
    mapState.district = distSel.value;
    const poly = boundsFc.features.find((f) => f.geometry && f.properties?.kind === 'district' && f.properties?.name === distSel.value);
    (map.getSource('selected') as GeoJSONSource).setData(poly ? { type: 'FeatureCollection', features: [poly] } : EMPTY);
    void reload(true);
  });
  cellsChk.addEventListener('change', () => {
    mapState.showCells = cellsChk.checked;
    applyVisibility();
    drawLegend(...currentBreaks());
  });
  boundsChk.addEventListener('change', () => {
    mapState.showBounds = boundsChk.checked;
    applyVisibility();
    drawLegend(...currentBreaks());
  });
  camerasChk.addEventListener('change', async () => {
    mapState.showCameras = camerasChk.checked;
    if (!mapState.showCameras) cameraPopup?.remove();
    await loadCameras();
    drawLegend(...currentBreaks());
  });
  pointsChk.addEventListener('change', async () => {
    mapState.showPoints = pointsChk.checked;
    if (!mapState.showPoints) {
      removePoints();
      map.triggerRepaint();
      updateStatus();
    } else {
      const ctl = new AbortController();
      await loadPoints(ctl.signal);
    }
    drawLegend(...currentBreaks());
  });
  for (const o of OVERLAYS) {
    overlayChk[o].addEventListener('change', async () => {
      mapState.show[o] = overlayChk[o].checked;
      if (!mapState.show[o]) cameraPopup?.remove();
      await loadOverlay(o);
      drawLegend(...currentBreaks());
    });
  }
  fitBtn.addEventListener('click', () => fit());

  const restore = savedView && savedView.territory === terrSel.value ? savedView : null;
  if (restore) {
    map.jumpTo({ center: restore.center, zoom: restore.zoom });
    placed = true;
  }
  void reload(!restore, true);

  return () => {
    // Keep the view for the next visit, but only a view that was placed on the data
    // (leaving before the first fit would otherwise bring back the whole world).
    if (placed) {
      const c = map.getCenter();
      savedView = { territory: terrSel.value, center: [c.lng, c.lat], zoom: map.getZoom() };
    }
    disposed = true;
    aborter?.abort();
    cameraPopup?.remove();
    map.remove();
    hook.map = null;
  };
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, h('span', null, label), control);
}

function infoTable(title: string, testid: string, rows: [string, string][]): HTMLElement {
  return h('div', { class: 'cell-info fc-popup', 'data-testid': testid }, h('h4', null, title), h('table', { class: 'kv' }, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

const PROP_ORDER = ['count', 'density_km2', 'kde_km2', 'gi_z', 'gi_p', 'gi_q', 'gi_p_sim', 'gi_class', 'lisa_i', 'lisa_quadrant', 'lisa_p_sim', 'lisa_q', 'lisa_cluster', 'lisa_cluster_fdr'];

function cellInfo(p: Record<string, unknown>): HTMLElement {
  const rows: HTMLElement[] = [];
  for (const k of PROP_ORDER) {
    if (!(k in p)) continue;
    let v: string;
    const raw = p[k];
    if (k === 'gi_class') v = t(`gi.${giClassKey(raw)}` as Key);
    else if (k === 'lisa_cluster' || k === 'lisa_cluster_fdr') v = t(`lisa.${String(raw)}` as Key) ?? String(raw);
    else if (typeof raw === 'number') v = fmtStat(raw);
    else v = String(raw);
    rows.push(h('tr', null, h('th', null, t(`prop.${k}` as Key)), h('td', { 'data-prop': k }, v)));
  }
  return h('div', { class: 'cell-info', 'data-testid': 'cell-info' }, h('h4', null, t('map.cellTitle', { cell: String(p.cell ?? '') })), h('table', { class: 'kv' }, rows));
}

/** The popup of the cameras under the click (up to three; the rest counted). */
function cameraInfo(props: Record<string, unknown>[]): HTMLElement {
  const shown = props.slice(0, 3);
  return h(
    'div',
    { class: 'cell-info fc-popup cam-popup', 'data-testid': 'camera-popup' },
    shown.map((p) => {
      const c = cameraFromProps(p);
      return h(
        'div',
        { class: 'cam-info', 'data-camera': c.id },
        h('h4', null, t('cam.title', { id: c.id })),
        h('table', { class: 'kv' }, cameraLines(c).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))),
      );
    }),
    props.length > shown.length ? h('p', { class: 'hint' }, t('cam.more', { n: fmtInt(props.length - shown.length) })) : null,
  );
}

function fmtStat(x: number): string {
  if (Number.isInteger(x)) return fmtInt(x);
  if (x !== 0 && Math.abs(x) < 0.001) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

function fmtInZone(iso: string, tz?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(d);
  } catch {
    return d.toISOString().slice(0, 16).replace('T', ' ');
  }
}

function nearbyList(incidents: Incident[], tz?: string): HTMLElement {
  if (incidents.length === 0) return h('div', { 'data-testid': 'nearby' }, h('h4', null, t('map.nearby')), h('p', null, t('map.nearbyNone')));
  return h(
    'div',
    { 'data-testid': 'nearby' },
    h('h4', null, t('map.nearby'), ` (${incidents.length})`),
    h(
      'ul',
      { class: 'incident-list' },
      incidents.map((i) =>
        h(
          'li',
          null,
          h('b', null, catName(i.category)),
          i.subcategory ? ` · ${i.subcategory}` : '',
          h('br'),
          h('span', { class: 'muted' }, `${fmtInZone(i.occurred_from, tz)} · ${i.district ?? t('common.none')}${i.premises ? ` · ${i.premises}` : ''}`),
          h('br'),
          h('span', { class: 'muted small' }, `${t('inc.id')} ${i.external_id ?? i.id}`),
        ),
      ),
    ),
  );
}
