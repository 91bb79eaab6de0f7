// The optimiser of the planning page: what to plan (new cameras, stationary posts, mobile points,
// beats), its parameters, Run → the plans per budget (per shift for mobile points) with their
// coverage, gain, gap, status and time; the proposed sites on the page's own map (diamonds; the
// dosage spots of mobile points as rings); "Save as scenario" and the saved scenarios.

import { Map as MlMap, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type LngLatBoundsLike, type MapOptions, type StyleSpecification } from 'maplibre-gl';
import { ApiError, enc, getJson, postJson, qs, type BeatPlan, type CameraPlan, type PlanSite, type PostCollection, type PostPlan, type Scenario, type StreetCollection } from '../api';
import { h, replace, select } from '../dom';
import { fmtPct } from '../forecast';
import { fmtDec, fmtInt, t, type Key } from '../i18n';
import { EMPTY, baseLayersAbove, baseLayersBelow, bboxOf, webglAvailable, type FC, type MapHook } from '../map/base';
import { POST_COLORS, SITE_COLOR, SPOT_COLOR, beatLayers, postLayers, siteLayers, streetLayers, usePlanIcons } from '../map/planlayers';
import {
  DEFAULT_K,
  PLAN_WHATS,
  colourBeats,
  cameraPlanRows,
  defaultRow,
  fmtGain,
  fmtGap,
  fmtSeconds,
  imbalanceText,
  kindName,
  methodName,
  shiftName,
  parseBudgets,
  planParams,
  planPath,
  postPlanRows,
  rowSites,
  scenarioHeadline,
  scenarioKind,
  siteIncidents,
  sitesCollection,
  spotsCollection,
  statusName,
  type PlanForm,
  type PlanRow,
  type PlanWhat,
} from '../optimise';
import { errorText, loading, message, panel } from '../ui';

export interface OptimiserHook extends MapHook {
  planState: 'idle' | 'running' | 'loaded' | 'error';
  /** Proposed sites drawn on the planning map (the selected row). */
  sitesDrawn: number;
  spotsDrawn: number;
  beatsDrawn: number;
  streetsDrawn: number;
  postsDrawn: number;
  scenariosState: 'loading' | 'loaded' | 'error';
  scenarios: number;
  saveState: 'idle' | 'saving' | 'saved' | 'error';
}

type Result = { what: 'cameras'; data: CameraPlan } | { what: 'stationary' | 'mobile'; data: PostPlan } | { what: 'beats'; data: BeatPlan };

/** The last plan shown, kept while the application is open (a language switch re-renders the page). */
const optState: { territory: string; form: PlanForm | null; params: Record<string, string> | null; result: Result | null; row: { shift: number; plan: number } | null } = {
  territory: '',
  form: null,
  params: null,
  result: null,
  row: null,
};

export interface Optimiser {
  section: HTMLElement;
  scenarios: HTMLElement;
  /** The page's territory or period changed. */
  setTerritory(territory: string, from: string, to: string): void;
  dispose(): void;
}

export function optimiser(hook: OptimiserHook, init: { territory: string; from: string; to: string; category: () => string }): Optimiser {
  Object.assign(hook, { planState: 'idle', sitesDrawn: 0, spotsDrawn: 0, beatsDrawn: 0, streetsDrawn: 0, postsDrawn: 0, scenariosState: 'loading', scenarios: 0, saveState: 'idle' });
  let territory = init.territory;
  const keep = optState.territory === territory ? optState.form : null;

  // ---- The form ----
  const whatSel = select('what', PLAN_WHATS.map((w) => [w, t(`opt.what.${w}` as Key)]), keep?.what ?? 'stationary', { 'data-testid': 'opt-kind' });
  const kIn = h('input', { type: 'text', name: 'k', inputmode: 'numeric', size: 10, value: keep?.k ?? DEFAULT_K.stationary, 'data-testid': 'opt-k', 'aria-describedby': 'opt-k-hint' });
  const rangeIn = h('input', { type: 'number', name: 'range', min: 5, max: 500, step: 5, value: keep?.range ?? '50', 'data-testid': 'opt-range' });
  const minutesIn = h('input', { type: 'number', name: 'minutes', min: 1, max: 60, step: 0.5, value: keep?.minutes ?? '5', 'data-testid': 'opt-minutes' });
  const modeSel = select('mode', [['walk', t('opt.mode.walk')], ['drive', t('opt.mode.drive')]], keep?.mode ?? 'walk', { 'data-testid': 'opt-mode' });
  const objSel = select('objective', [['coverage', t('opt.obj.coverage')], ['median', t('opt.obj.median')]], keep?.objective ?? 'coverage', { 'data-testid': 'opt-objective' });
  const timeIn = h('input', { type: 'number', name: 'time_limit', min: 1, max: 60, step: 1, value: keep?.timeLimit ?? '10', 'data-testid': 'opt-time' });
  const nIn = h('input', { type: 'number', name: 'n', min: 2, max: 60, step: 1, value: keep?.n ?? '6', 'data-testid': 'opt-n' });
  const cellSel = select('cell', ['100', '150', '200', '250', '300', '400', '500', '750', '1000'].map((c) => [c, c]), keep?.cell ?? '250', { 'data-testid': 'opt-cell' });
  const fromIn = h('input', { type: 'date', name: 'from', value: keep?.from ?? init.from, 'data-testid': 'opt-from' });
  const toIn = h('input', { type: 'date', name: 'to', value: keep?.to ?? init.to, 'data-testid': 'opt-to' });
  const runBtn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'opt-run' }, t('opt.run'));
  let kEdited = !!keep;
  kIn.addEventListener('input', () => (kEdited = true));

  const f = (label: string, control: HTMLElement, kinds: PlanWhat[]) => {
    const el = h('label', { class: 'tb-field' }, h('span', null, label), control);
    el.dataset.kinds = kinds.join(' ');
    return el;
  };
  const posts: PlanWhat[] = ['stationary', 'mobile'];
  const fields = [
    f(t('opt.what'), whatSel, PLAN_WHATS),
    f(t('opt.k'), kIn, ['cameras', ...posts]),
    f(t('opt.range'), rangeIn, ['cameras']),
    f(t('opt.minutes'), minutesIn, posts),
    f(t('opt.mode'), modeSel, posts),
    f(t('opt.objective'), objSel, posts),
    f(t('opt.n'), nIn, ['beats']),
    f(t('opt.cell'), cellSel, ['beats']),
    f(t('opt.timeLimit'), timeIn, ['cameras', ...posts]),
    f(t('common.from'), fromIn, PLAN_WHATS),
    f(t('common.to'), toIn, PLAN_WHATS),
  ];
  const kHint = h('p', { class: 'hint pl-caption', id: 'opt-k-hint' });
  const form = h('form', { class: 'toolbar bt-toolbar opt-form', 'data-testid': 'opt-form', novalidate: true }, fields, h('div', { class: 'tb-actions' }, runBtn));
  const formMsg = h('div', { 'aria-live': 'polite' });
  const syncKind = () => {
    const w = whatSel.value as PlanWhat;
    for (const el of fields) el.hidden = !(el.dataset.kinds ?? '').split(' ').includes(w);
    if (w !== 'beats' && !kEdited) kIn.value = DEFAULT_K[w];
    kHint.textContent = t(`opt.hint.${w}` as Key);
  };
  whatSel.addEventListener('change', syncKind);
  syncKind();

  // ---- Results and the map ----
  const out = h('div', { class: 'opt-results', 'data-testid': 'opt-results', 'aria-live': 'polite' });
  const mapDiv = h('div', { class: 'map', 'data-testid': 'opt-map', role: 'region', 'aria-label': t('opt.mapLabel') });
  const mapNote = h('div', { class: 'map-notes' });
  const legend = h(
    'div',
    { class: 'legend', 'data-testid': 'opt-legend' },
    h('div', { class: 'legend-row' }, h('span', { class: 'sw-icon diamond', style: `background:${SITE_COLOR}` }), h('span', null, t('opt.legend.site'))),
    h('div', { class: 'legend-row' }, h('span', { class: 'sw-dot spot-dot', style: `border-color:${SPOT_COLOR}` }), h('span', null, t('opt.legend.spot'))),
    h('div', { class: 'legend-row' }, h('span', { class: 'sw-icon square', style: `background:${POST_COLORS.stationary}` }), h('span', null, t('legend.postStationary'))),
    h('div', { class: 'legend-row' }, h('span', { class: 'sw-icon triangle', style: `color:${POST_COLORS.mobile}` }), h('span', null, t('legend.postMobile'))),
    h('div', { class: 'legend-row' }, h('span', { class: 'sw-line streets' }), h('span', null, t('legend.streets'))),
  );
  const mapWrap = h('div', { class: 'fc-map-wrap opt-map-wrap' }, mapDiv, h('div', { class: 'map-overlay-top' }, mapNote), legend);

  const section = h(
    'section',
    { class: 'pl-section', 'data-testid': 'opt-section', 'aria-labelledby': 'opt-title' },
    h('h2', { id: 'opt-title' }, t('opt.title')),
    h('p', { class: 'pl-intro' }, t('opt.intro')),
    form,
    kHint,
    formMsg,
    mapWrap,
    out,
  );

  // ---- Saved scenarios ----
  const scOut = h('div', { 'aria-live': 'polite' });
  const scTitle = h('h2', { id: 'sc-title' }, t('sc.title'));
  const scenarios = h('section', { class: 'pl-section', 'data-testid': 'sc-section', 'aria-labelledby': 'sc-title' }, scTitle, h('p', { class: 'pl-intro' }, t('sc.intro')), scOut);

  let map: MlMap | null = null;
  let loaded: Promise<void> = Promise.resolve();
  let popup: Popup | null = null;
  let disposed = false;
  let layersOf = '';
  let ctrl: AbortController | null = null;
  let seq = 0;
  let fitBox: [number, number, number, number] | null = null;

  function style(): StyleSpecification {
    return {
      version: 8,
      sources: {
        bounds: { type: 'geojson', data: EMPTY },
        streets: { type: 'geojson', data: EMPTY },
        posts: { type: 'geojson', data: EMPTY },
        plan: { type: 'geojson', data: EMPTY },
        spots: { type: 'geojson', data: EMPTY },
        sites: { type: 'geojson', data: EMPTY },
      },
      layers: [...baseLayersBelow(), ...streetLayers(true), ...beatLayers(true, 'plan'), ...baseLayersAbove(), ...postLayers(true), ...siteLayers()],
    };
  }

  if (webglAvailable()) {
    map = new MlMap({ container: mapDiv, style: style(), center: [0, 20], zoom: 1, attributionControl: false, maxZoom: 19, dragRotate: false, pitchWithRotate: false, canvasContextAttributes: { preserveDrawingBuffer: true } } as MapOptions);
    map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
    usePlanIcons(map);
    const m = map;
    loaded = new Promise<void>((res) => m.once('load', () => res()));
    m.on('click', (ev) => {
      popup?.remove();
      popup = null;
      const r = 6;
      const box: [[number, number], [number, number]] = [[ev.point.x - r, ev.point.y - r], [ev.point.x + r, ev.point.y + r]];
      const site = m.queryRenderedFeatures(box, { layers: ['sites-symbol'] })[0];
      const post = m.queryRenderedFeatures(box, { layers: ['posts-symbol'] })[0];
      const spot = m.queryRenderedFeatures(box, { layers: ['spots-circle'] })[0];
      const beat = m.queryRenderedFeatures(ev.point, { layers: ['plan-fill'] })[0];
      let content: HTMLElement | null = null;
      if (site) content = kv(t('opt.siteTitle', { n: String(site.properties?.rank ?? '') }), [[t('opt.incidentsCol'), fmtInt(Number(site.properties?.incidents ?? 0))]]);
      else if (spot) content = kv(t('opt.spotTitle', { n: String(spot.properties?.site ?? '') }), [[t('opt.incidentsCol'), fmtInt(Number(spot.properties?.incidents ?? 0))], [t('opt.minutesAway'), fmtDec(Number(spot.properties?.minutes ?? 0), 1, 1)]]);
      else if (post) content = postInfo(post.properties ?? {});
      else if (beat) content = kv(t('beat.title', { name: String(beat.properties?.beat ?? beat.properties?.name ?? '') }), [[t('beat.workload'), fmtDec(Number(beat.properties?.workload ?? 0), 0, 1)], [t('opt.incidentsCol'), fmtInt(Number(beat.properties?.incidents ?? 0))]]);
      if (content) popup = new Popup({ closeButton: true, maxWidth: '300px' }).setLngLat(ev.lngLat).setDOMContent(content).addTo(m);
    });
  } else {
    replace(mapNote, message('error', t('map.webglMissing')));
  }
  hook.map = map;

  function setData(source: string, data: unknown): void {
    if (!map || disposed) return;
    (map.getSource(source) as GeoJSONSource | undefined)?.setData(data as FC);
  }

  function fit(tries = 0): void {
    if (disposed || !map || !fitBox) return;
    if ((mapDiv.clientWidth === 0 || mapDiv.clientHeight === 0) && tries < 200) {
      setTimeout(() => fit(tries + 1), 50);
      return;
    }
    map.resize();
    map.fitBounds(fitBox as LngLatBoundsLike, { padding: 40, duration: 0, maxZoom: 16 });
  }

  /** Boundary, streets and posts of the territory (once per territory). */
  async function loadLayers(): Promise<void> {
    const terr = territory;
    if (layersOf === terr) return;
    layersOf = terr;
    const get = <T>(p: string) => getJson<T>(`/territories/${enc(terr)}/${p}`).catch(() => null);
    const [bounds, streets, postsFc] = await Promise.all([get<FC>('boundaries'), get<StreetCollection>('streets'), get<PostCollection>('posts')]);
    if (disposed || layersOf !== terr) return;
    await loaded;
    if (disposed || layersOf !== terr) return;
    setData('bounds', bounds ?? EMPTY);
    setData('streets', streets ?? EMPTY);
    setData('posts', postsFc ?? EMPTY);
    hook.streetsDrawn = streets?.features?.length ?? 0;
    hook.postsDrawn = postsFc?.features?.filter((x) => x.geometry).length ?? 0;
    const bb = (bounds && bboxOf(bounds, (p) => p.kind === 'territory')) ?? (streets && bboxOf(streets as unknown as FC)) ?? (postsFc && bboxOf(postsFc as unknown as FC));
    if (bb && !optState.result) {
      fitBox = bb;
      fit();
    }
    replace(mapNote, hook.streetsDrawn === 0 ? message('info', t('opt.noStreets')) : null);
  }

  function readForm(): PlanForm {
    return {
      what: whatSel.value as PlanWhat,
      k: kIn.value,
      range: rangeIn.value,
      minutes: minutesIn.value,
      mode: modeSel.value,
      objective: objSel.value,
      timeLimit: timeIn.value,
      n: nIn.value,
      cell: cellSel.value,
      from: fromIn.value,
      to: toIn.value,
      category: init.category(),
    };
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pf = readForm();
    if (pf.what !== 'beats' && !parseBudgets(pf.k)) {
      replace(formMsg, tagged(message('error', t('opt.badK')), 'opt-error'));
      kIn.focus();
      return;
    }
    replace(formMsg);
    const params = planParams(pf);
    const my = ++seq;
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    hook.planState = 'running';
    runBtn.disabled = true;
    out.setAttribute('aria-busy', 'true');
    replace(out, loading(), h('p', { class: 'hint' }, t('opt.running')));
    try {
      const data = await getJson<CameraPlan | PostPlan | BeatPlan>(`/territories/${enc(territory)}/${planPath(pf.what)}${qs(params)}`, { signal: c.signal });
      if (my !== seq || disposed) return;
      const result = { what: pf.what, data } as Result;
      Object.assign(optState, { territory, form: pf, params, result, row: null });
      await show(result);
      hook.planState = 'loaded';
    } catch (e) {
      if (my !== seq || disposed) return;
      replace(out, tagged(e instanceof ApiError && e.status === 404 && pf.what === 'beats' ? message('info', t('opt.beatsMissing')) : message('error', errorText(e)), 'opt-error'));
      hook.planState = 'error';
    } finally {
      if (my === seq) {
        runBtn.disabled = false;
        out.removeAttribute('aria-busy');
      }
    }
  });

  async function clearPlanLayers(): Promise<void> {
    await loaded;
    setData('sites', EMPTY);
    setData('spots', EMPTY);
    setData('plan', EMPTY);
    hook.sitesDrawn = hook.spotsDrawn = hook.beatsDrawn = 0;
  }

  async function show(r: Result, saved?: Scenario): Promise<void> {
    popup?.remove();
    await clearPlanLayers();
    if (disposed) return;
    if (r.what === 'beats') return showBeats(r.data);
    const rows = r.what === 'cameras' ? cameraPlanRows(r.data) : postPlanRows(r.data);
    const sitesBox = h('div', { 'data-testid': 'opt-sites-box' });
    const mobile = r.what === 'mobile';
    const buttons: HTMLButtonElement[] = [];
    const select = async (row: PlanRow) => {
      optState.row = { shift: row.shift, plan: row.plan };
      for (const b of buttons) {
        const on = b.dataset.row === `${row.shift}-${row.plan}`;
        b.setAttribute('aria-pressed', String(on));
        b.closest('tr')?.classList.toggle('selected', on);
      }
      await drawSites(rowSites(r.data, row), row, sitesBox, mobile);
    };
    const tbl = h(
      'table',
      { class: 'data opt-table', 'data-testid': 'opt-table' },
      h('caption', { class: 'visually-hidden' }, t('opt.results')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          mobile ? h('th', { scope: 'col' }, t('opt.shift')) : null,
          h('th', { scope: 'col', class: 'num' }, t('opt.budget')),
          h('th', { scope: 'col', class: 'num' }, t('opt.objectiveCol')),
          h('th', { scope: 'col', class: 'num' }, t(r.what === 'cameras' ? 'opt.totalShare' : 'opt.shareWithin')),
          h('th', { scope: 'col', class: 'num' }, t('opt.gain')),
          h('th', { scope: 'col', class: 'num' }, t('opt.gap')),
          h('th', { scope: 'col' }, t('opt.status')),
          h('th', { scope: 'col', class: 'num' }, t('opt.time')),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('opt.onMap'))),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((row) => {
          const b = h('button', { type: 'button', class: 'btn-small', 'aria-pressed': 'false', 'data-row': `${row.shift}-${row.plan}`, 'data-testid': `opt-show-${row.shift}-${row.plan}` }, t('opt.onMap'));
          b.addEventListener('click', () => void select(row));
          buttons.push(b);
          return h(
            'tr',
            { 'data-testid': `opt-row-${row.shift}-${row.plan}`, 'data-budget': String(row.budget) },
            mobile ? h('th', { scope: 'row' }, row.shiftName ?? '') : null,
            mobile ? h('td', { class: 'num' }, fmtInt(row.budget)) : h('th', { scope: 'row', class: 'num' }, fmtInt(row.budget)),
            h('td', { class: 'num' }, row.objective),
            h('td', { class: 'num', 'data-col': 'share' }, fmtPct(row.share)),
            h('td', { class: 'num', 'data-col': 'gain' }, fmtGain(row.gain)),
            h('td', { class: 'num' }, fmtGap(row.gap)),
            h('td', null, statusName(row.status)),
            h('td', { class: 'num' }, fmtSeconds(row.seconds)),
            h('td', null, b),
          );
        }),
      ),
    );
    replace(
      out,
      saved ? h('p', { class: 'nr-context', 'data-testid': 'opt-from-scenario' }, t('sc.shown', { name: saved.name })) : null,
      panel(
        `${t('opt.results')} — ${kindName(r.what)}`,
        h('div', null, h('ul', { class: 'pl-findings', 'data-testid': 'opt-summary' }, summary(r).map((s) => h('li', null, s))), h('div', { class: 'table-scroll-x' }, tbl), h('p', { class: 'hint' }, t('opt.gapHint'))),
        undefined,
        'opt-plans',
      ),
      sitesBox,
      saved ? null : saveForm(r),
    );
    const want = optState.row && rows.find((x) => x.shift === optState.row?.shift && x.plan === optState.row?.plan);
    const first = want || defaultRow(rows);
    if (first) await select(first);
  }

  function summary(r: Result): string[] {
    if (r.what === 'cameras') {
      const d = r.data;
      return [
        t('opt.sumCameras', { n: fmtInt(Math.round(d.incidents)), cams: fmtInt(d.existing.working_cameras), share: fmtPct(d.existing.share), range: fmtInt(d.range_m) }),
        t('opt.sumCandidates', { n: fmtInt(d.candidates.count), source: sourceName(d.candidates.source), method: methodName(d.method) }),
      ];
    }
    if (r.what === 'beats') return [];
    const d = r.data;
    const out = [
      t('opt.sumPosts', { minutes: fmtDec(d.minutes, 0, 1), mode: t(`opt.mode.${d.mode}` as Key), network: d.network === 'streets' ? t('opt.network.streets') : t('opt.network.straight'), registered: fmtInt(d.registered) }),
      t('opt.sumCandidates', { n: fmtInt(d.candidates.count), source: sourceName(d.candidates.source), method: methodName(d.method) }),
    ];
    for (const s of d.shifts ?? []) {
      out.push(
        t('opt.sumShift', {
          shift: d.kind === 'mobile' ? `${shiftName(s.shift)} (${s.window})` : t('opt.allDay'),
          n: fmtInt(Math.round(s.incidents)),
          onDuty: fmtInt(s.existing.on_duty),
          share: fmtPct(s.existing.share),
        }) + (s.without_hour > 0 ? ` ${t('opt.withoutHour', { n: fmtInt(s.without_hour) })}` : '') + (s.unreachable > 0 ? ` ${t('opt.unreachable', { n: fmtInt(s.unreachable) })}` : ''),
      );
    }
    if (d.network !== 'streets') out.push(t('opt.noNetwork'));
    return out;
  }

  async function drawSites(sites: PlanSite[], row: PlanRow, box: HTMLElement, mobile: boolean): Promise<void> {
    await loaded;
    if (disposed) return;
    const sfc = sitesCollection(sites);
    const spots = spotsCollection(sites);
    setData('sites', sfc);
    setData('spots', mobile ? spots : EMPTY);
    hook.sitesDrawn = sfc.features.length;
    hook.spotsDrawn = mobile ? spots.features.length : 0;
    const bb = bboxOf({ type: 'FeatureCollection', features: [...sfc.features, ...(mobile ? spots.features : [])] } as unknown as FC);
    if (bb) {
      const pad = 0.004;
      fitBox = [bb[0] - pad, bb[1] - pad, bb[2] + pad, bb[3] + pad];
      fit();
    }
    replace(
      box,
      panel(
        t('opt.sitesTitle', { k: fmtInt(row.budget), shift: row.shiftName ? ` — ${row.shiftName}` : '' }),
        h(
          'div',
          null,
          h('p', { class: 'hint pl-caption' }, mobile ? t('opt.dosageHint') : t('opt.sitesHint')),
          h(
            'table',
            { class: 'data opt-sites-table', 'data-testid': 'opt-sites' },
            h('caption', { class: 'visually-hidden' }, t('opt.sitesTitle', { k: fmtInt(row.budget), shift: '' })),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col', class: 'num' }, '#'),
                h('th', { scope: 'col' }, t('cam.position')),
                h('th', { scope: 'col', class: 'num' }, t('opt.incidentsCol')),
                mobile ? h('th', { scope: 'col' }, t('opt.dosage')) : null,
              ),
            ),
            h(
              'tbody',
              null,
              sites.map((s, i) =>
                h(
                  'tr',
                  { 'data-site': String(i + 1) },
                  h('th', { scope: 'row', class: 'num' }, fmtInt(i + 1)),
                  h('td', null, `${fmtDec(s.lat, 5, 5)}; ${fmtDec(s.lon, 5, 5)}`),
                  h('td', { class: 'num' }, fmtInt(Math.round(siteIncidents(s)))),
                  mobile ? h('td', { 'data-testid': `opt-dosage-${i + 1}` }, dosageView(s)) : null,
                ),
              ),
            ),
          ),
        ),
        undefined,
        'opt-sites-panel',
      ),
    );
  }

  function dosageView(s: PlanSite): HTMLElement {
    const d = s.dosage;
    if (!d) return h('span', null, t('common.none'));
    return h(
      'div',
      { class: 'opt-dosage' },
      h('span', null, t('opt.dosageLine', { rounds: fmtInt(d.rounds_per_shift), visit: d.visit_minutes })),
      h(
        'ol',
        null,
        d.spots.map((p) => h('li', null, t('opt.spot', { pos: `${fmtDec(p.lat, 5, 5)}; ${fmtDec(p.lon, 5, 5)}`, n: fmtInt(Math.round(p.incidents)), min: fmtDec(p.minutes_away, 1, 1) }))),
      ),
    );
  }

  async function showBeats(d: BeatPlan): Promise<void> {
    const fc = colourBeats(d.beats ?? { features: [] });
    await loaded;
    if (disposed) return;
    setData('plan', fc);
    hook.beatsDrawn = fc.features.length;
    const bb = bboxOf(fc as FC);
    if (bb) {
      fitBox = bb;
      fit();
    }
    const box = (label: string, value: string, key: string) => h('div', { class: 'count-box', 'data-beat': key }, h('b', null, value), h('span', null, label));
    const feats = fc.features;
    replace(
      out,
      panel(
        `${t('opt.results')} — ${kindName('beats')}`,
        h(
          'div',
          null,
          h(
            'div',
            { class: 'counts cov-counts', 'data-testid': 'opt-beats-summary' },
            box(t('beat.before'), d.before ? imbalanceText(d.before) : t('beat.noBefore'), 'before'),
            box(t('beat.after'), imbalanceText(d.after), 'after'),
            box(t('beat.count'), fmtInt(d.after?.beats ?? feats.length), 'beats'),
            box(t('beat.units'), t('beat.unitsValue', { n: fmtInt(d.units), cell: fmtInt(d.cell_m) }), 'units'),
            box(t('opt.time'), fmtSeconds(d.seconds), 'seconds'),
          ),
          h('p', { class: 'hint' }, t('beat.hint')),
          h(
            'table',
            { class: 'data opt-beats-table', 'data-testid': 'opt-beats-table' },
            h('caption', { class: 'visually-hidden' }, t('opt.what.beats')),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, t('beat.beat')),
                h('th', { scope: 'col', class: 'num' }, t('beat.workload')),
                h('th', { scope: 'col', class: 'num' }, t('opt.incidentsCol')),
                h('th', { scope: 'col', class: 'num' }, t('beat.compactness')),
                h('th', { scope: 'col' }, t('beat.contiguous')),
              ),
            ),
            h(
              'tbody',
              null,
              feats.map((x) => {
                const p = (x.properties ?? {}) as Record<string, unknown>;
                return h(
                  'tr',
                  null,
                  h('th', { scope: 'row' }, h('span', { class: 'sw cov-sw', style: `background:${String(p._c)}`, 'aria-hidden': 'true' }), ' ', String(p.beat ?? '')),
                  h('td', { class: 'num' }, fmtDec(Number(p.workload ?? 0), 0, 1)),
                  h('td', { class: 'num' }, fmtInt(Number(p.incidents ?? 0))),
                  h('td', { class: 'num' }, fmtDec(Number(p.compactness ?? 0), 2, 2)),
                  h('td', null, p.contiguous === false ? t('common.no') : t('common.yes')),
                );
              }),
            ),
          ),
        ),
        undefined,
        'opt-beats',
      ),
    );
  }

  // ---- Save as scenario ----
  function saveForm(r: Result): HTMLElement {
    const params = optState.params ?? {};
    const kind = r.what === 'cameras' ? 'cameras' : 'posts';
    const nameIn = h('input', { type: 'text', name: 'name', required: true, maxlength: 200, size: 40, value: defaultName(r.what, params), 'data-testid': 'sc-name' });
    const btn = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'sc-save' }, t('sc.save'));
    const res = h('div', { 'aria-live': 'polite' });
    const f = h('form', { class: 'card import-form sc-form', 'data-testid': 'sc-form' }, h('h3', null, t('sc.saveTitle')), h('p', { class: 'hint' }, t('sc.saveHint')), h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('sc.name')), nameIn), h('div', { class: 'form-actions' }, btn), res);
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = nameIn.value.trim();
      if (!name) {
        replace(res, tagged(message('error', t('sc.needName')), 'sc-error'));
        nameIn.focus();
        return;
      }
      btn.disabled = true;
      hook.saveState = 'saving';
      replace(res, message('info', t('sc.saving')));
      const terr = territory;
      try {
        const s = await postJson<{ id: number; name: string }>(`/territories/${enc(terr)}/scenarios`, { kind, name, params });
        if (disposed) return;
        replace(res, tagged(message('ok', t('sc.saved', { name: s.name })), 'sc-saved'));
        hook.saveState = 'saved';
        if (terr === territory) await loadScenarios();
      } catch (e) {
        if (disposed) return;
        hook.saveState = 'error';
        replace(res, tagged(message('error', e instanceof ApiError && e.status === 403 ? t('sc.forbidden') : errorText(e)), 'sc-error'));
      } finally {
        btn.disabled = false;
      }
    });
    return f;
  }

  async function loadScenarios(): Promise<void> {
    const terr = territory;
    hook.scenariosState = 'loading';
    replace(scOut, loading());
    let list: Scenario[];
    try {
      list = (await getJson<{ scenarios: Scenario[] }>(`/territories/${enc(terr)}/scenarios`)).scenarios ?? [];
    } catch (e) {
      if (disposed || terr !== territory) return;
      hook.scenariosState = 'error';
      replace(scOut, tagged(e instanceof ApiError && e.status === 404 ? message('info', t('sc.unavailable')) : message('error', errorText(e)), 'sc-list-error'));
      return;
    }
    if (disposed || terr !== territory) return;
    hook.scenarios = list.length;
    hook.scenariosState = 'loaded';
    if (list.length === 0) {
      replace(scOut, tagged(message('info', t('sc.none')), 'sc-none'));
      return;
    }
    replace(
      scOut,
      h(
        'div',
        { class: 'table-scroll-x' },
        h(
          'table',
          { class: 'data sc-table', 'data-testid': 'sc-table' },
          h('caption', { class: 'visually-hidden' }, t('sc.title')),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, t('sc.name')),
              h('th', { scope: 'col' }, t('sc.kind')),
              h('th', { scope: 'col' }, t('sc.who')),
              h('th', { scope: 'col' }, t('sc.when')),
              h('th', { scope: 'col' }, t('sc.headlineCol')),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('opt.onMap'))),
            ),
          ),
          h(
            'tbody',
            null,
            list.map((s) => {
              const b = h('button', { type: 'button', class: 'btn-small', 'data-testid': `sc-show-${s.id}` }, t('sc.show'));
              b.addEventListener('click', () => {
                const what: PlanWhat = s.kind === 'cameras' ? 'cameras' : (s.result as PostPlan)?.kind === 'mobile' ? 'mobile' : 'stationary';
                optState.row = null;
                void show({ what, data: s.result } as Result, s).then(() => section.scrollIntoView({ block: 'start' }));
              });
              return h(
                'tr',
                { 'data-scenario': String(s.id) },
                h('th', { scope: 'row' }, s.name),
                h('td', null, scenarioKind(s)),
                h('td', null, s.created_by),
                h('td', null, fmtWhen(s.created_at)),
                h('td', { 'data-col': 'headline' }, scenarioHeadline(s)),
                h('td', null, b),
              );
            }),
          ),
        ),
      ),
    );
  }

  function setTerritory(terr: string, from: string, to: string): void {
    if (terr === territory && layersOf) return;
    territory = terr;
    fromIn.value = from;
    toIn.value = to;
    if (optState.territory !== terr) {
      optState.result = null;
      optState.row = null;
      replace(out);
      void clearPlanLayers();
      hook.planState = 'idle';
    }
    scTitle.textContent = t('sc.titleOf', { territory: terr });
    void loadLayers();
    void loadScenarios();
  }

  scTitle.textContent = t('sc.titleOf', { territory });
  void loadLayers();
  void loadScenarios();
  if (optState.territory === territory && optState.result) {
    const r = optState.result;
    void show(r).then(() => {
      if (!disposed) hook.planState = 'loaded';
    });
  }

  return {
    section,
    scenarios,
    setTerritory,
    dispose() {
      disposed = true;
      seq++;
      ctrl?.abort();
      popup?.remove();
      map?.remove();
      hook.map = null;
    },
  };
}

function defaultName(what: PlanWhat, params: Record<string, string>): string {
  const k = params.k ?? '';
  const d = new Date();
  const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `${kindName(what)}, k = ${k.replace(/,/g, ', ')} (${day})`;
}

function sourceName(s: string): string {
  return s === 'intersections' || s === 'grid' || s === 'incidents' ? t(`opt.source.${s}` as Key) : s;
}

function fmtWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function kv(title: string, rows: [string, string][]): HTMLElement {
  return h('div', { class: 'cell-info fc-popup' }, h('h4', null, title), h('table', { class: 'kv' }, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))));
}

/** A post's popup (shared with the map page). */
export function postInfo(p: Record<string, unknown>): HTMLElement {
  const kind = p.kind === 'mobile' ? t('legend.postMobile') : t('legend.postStationary');
  const rows: [string, string][] = [[t('post.kind'), kind], [t('post.hours'), String(p.hours ?? t('common.none'))]];
  if (p.vehicle !== null && p.vehicle !== undefined && p.vehicle !== '' && p.vehicle !== 'null') rows.push([t('post.vehicle'), String(p.vehicle)]);
  if (p.officers !== null && p.officers !== undefined && p.officers !== 'null') rows.push([t('post.officers'), String(p.officers)]);
  if (p.status) rows.push([t('post.status'), String(p.status)]);
  const name = p.name && p.name !== 'null' ? `${String(p.id ?? '')} — ${String(p.name)}` : String(p.id ?? '');
  return h('div', { 'data-testid': 'post-popup' }, kv(t('post.title', { name }), rows));
}

function tagged<T extends HTMLElement>(el: T, testid: string): T {
  el.setAttribute('data-testid', testid);
  return el;
}
