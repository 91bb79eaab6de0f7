// Dashboard: CompStat table, hour × weekday matrix, monthly trend, category and district totals.

import { ApiError, enc, getJson, qs, type Compstat, type CompstatCell, type PeriodKey, type Stats, type Territory, type TimeProfile } from '../api';
import { drawBars, drawHeat, drawLine, drawTable } from '../charts/canvas';
import { h, replace, select } from '../dom';
import { downloadCanvas, downloadCsv, fileSlug } from '../export';
import { catName, fmtInt, t, type Key } from '../i18n';
import { categories, defaultTerritory, filters, territories, visibleDistricts } from '../state';
import { errorBox, errorText, loading, message, panel } from '../ui';
import { defaultRange } from './range';

const PERIODS: PeriodKey[] = ['week_to_date', 'last_28_days', 'year_to_date'];
const WEEKDAYS_EN = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const dashState = { asOf: '', breakdown: 'category' as 'category' | 'district', district: '' };

function wdLabel(code: string, i: number): string {
  const k = WEEKDAYS_EN.indexOf(code);
  return t(`wd.${k >= 0 ? k : i}` as Key);
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
  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: filters.from, 'data-testid': 'from' });
  const toIn = h('input', { type: 'date', name: 'to', value: filters.to, 'data-testid': 'to' });
  const catSel = select('category', [['', t('common.allCategories')]], '', { 'data-testid': 'category' });
  for (const c of await categories().catch(() => [] as string[])) catSel.appendChild(h('option', { value: c }, catName(c)));
  catSel.value = filters.category;
  const asOfIn = h('input', { type: 'date', name: 'asof', value: dashState.asOf, 'data-testid': 'asof', title: t('dash.asOfHint') });
  const distSel = select('district', [['', t('common.allDistricts')]], '', { 'data-testid': 'district' });
  // The districts this user may see; a user limited to some districts starts with the first of them.
  async function loadDistricts(): Promise<void> {
    replace(distSel, h('option', { value: '' }, t('common.allDistricts')));
    try {
      const { names, whole } = await visibleDistricts(filters.territory);
      for (const n of names) distSel.appendChild(h('option', { value: n }, n));
      if (dashState.district && !names.includes(dashState.district)) dashState.district = '';
      if (!dashState.district && names.length && !whole) dashState.district = names[0];
    } catch {
      /* "all districts" only */
    }
    distSel.value = dashState.district;
  }
  await loadDistricts();
  const form = h(
    'form',
    { class: 'toolbar dash-toolbar', 'data-testid': 'dash-filters' },
    lab(t('common.territory'), terrSel),
    lab(t('common.from'), fromIn),
    lab(t('common.to'), toIn),
    lab(t('common.category'), catSel),
    lab(t('common.district'), distSel),
    lab(`${t('dash.asOf')} (${t('dash.compstat')})`, asOfIn),
    h('div', { class: 'tb-actions' }, h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'apply' }, t('common.apply'))),
  );
  const compstatBox = h('div');
  const heatBox = h('div');
  const trendBox = h('div');
  const catBox = h('div');
  const distBox = h('div');
  replace(root, form, h('div', { class: 'dash' }, compstatBox, h('div', { class: 'grid-2' }, heatBox, trendBox), h('div', { class: 'grid-2' }, catBox, distBox)));

  let seq = 0;
  async function load(): Promise<void> {
    const my = ++seq;
    const terr = filters.territory;
    const base = `/territories/${enc(terr)}`;
    const range = { from: filters.from, to: filters.to, category: filters.category, district: dashState.district };
    for (const b of [compstatBox, heatBox, trendBox, catBox, distBox]) replace(b, loading());
    const [cs, tp, st] = await Promise.allSettled([
      getJson<Compstat>(`${base}/compstat${qs({ date: dashState.asOf, category: filters.category, district: dashState.district })}`),
      getJson<TimeProfile>(`${base}/time${qs(range)}`),
      getJson<Stats>(`${base}/stats${qs(range)}`),
    ]);
    if (my !== seq) return;
    const stem = fileSlug(terr, dashState.district, filters.from, filters.to, filters.category);
    const empty = (title: string, testid: string) => panel(title, message('info', t('dash.noData')), undefined, testid);
    replace(compstatBox, cs.status === 'fulfilled' && cs.value.rows.length === 0 ? empty(`${t('dash.compstat')} — ${terr}`, 'compstat') : cs.status === 'fulfilled' ? compstatPanel(cs.value, fileSlug(terr, dashState.district, cs.value.date, filters.category)) : failedPanel(t('dash.compstat'), cs.reason, 'compstat'));
    if (tp.status === 'fulfilled' && tp.value.incidents === 0) {
      replace(heatBox, empty(t('dash.heat'), 'heat'));
      replace(trendBox, empty(t('dash.trend'), 'trend'));
    } else if (tp.status === 'fulfilled') {
      replace(heatBox, heatPanel(tp.value, stem));
      replace(trendBox, trendPanel(tp.value.monthly, stem));
    } else {
      replace(heatBox, failedPanel(t('dash.heat'), tp.reason, 'heat'));
      // The trend can come from the statistics while /time is missing.
      if (st.status === 'fulfilled' && tp.reason instanceof ApiError && tp.reason.status === 404) replace(trendBox, trendPanel(st.value.by_month, stem));
      else replace(trendBox, failedPanel(t('dash.trend'), tp.reason, 'trend'));
    }
    if (st.status === 'fulfilled' && st.value.total === 0) {
      replace(catBox, empty(t('dash.categories'), 'categories'));
      replace(distBox, empty(t('dash.districts'), 'districts'));
    } else if (st.status === 'fulfilled') {
      replace(catBox, categoryPanel(st.value, stem));
      replace(distBox, districtPanel(st.value, stem));
    } else {
      replace(catBox, failedPanel(t('dash.categories'), st.reason, 'categories'));
      replace(distBox, failedPanel(t('dash.districts'), st.reason, 'districts'));
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filters.territory = terrSel.value;
    filters.from = fromIn.value;
    filters.to = toIn.value;
    filters.category = catSel.value;
    dashState.asOf = asOfIn.value;
    dashState.district = distSel.value;
    void load();
  });
  terrSel.addEventListener('change', async () => {
    filters.territory = terrSel.value;
    const r = await defaultRange(terrSel.value).catch(() => null);
    filters.from = fromIn.value = r?.from ?? '';
    filters.to = toIn.value = r?.to ?? '';
    dashState.district = '';
    await loadDistricts();
    void load();
  });
  distSel.addEventListener('change', () => form.requestSubmit());
  void load();

  // Charts are sized to their panel: redraw on a width change.
  let lastW = window.innerWidth;
  const onResize = () => {
    if (Math.abs(window.innerWidth - lastW) > 40) {
      lastW = window.innerWidth;
      void load();
    }
  };
  window.addEventListener('resize', onResize);
  return () => {
    seq++;
    window.removeEventListener('resize', onResize);
  };

  // ---- Panels ----

  function failedPanel(title: string, err: unknown, testid: string): HTMLElement {
    return panel(title, err instanceof ApiError && err.status === 403 ? errorBox(err) : message(err instanceof ApiError && err.status === 404 ? 'info' : 'error', errorText(err)), undefined, testid);
  }

  function compstatPanel(cs: Compstat, stem: string): HTMLElement {
    const bdSel = select('breakdown', [['category', t('common.category')], ['district', t('common.district')]], dashState.breakdown, { 'data-testid': 'breakdown' });
    const body = h('div');
    const draw = () => {
      dashState.breakdown = bdSel.value as 'category' | 'district';
      const rows = cs.rows
        .filter((r) => (dashState.breakdown === 'category' ? r.district === null : r.category === null))
        .sort((a, b) => {
          const ka = dashState.breakdown === 'category' ? a.category : a.district;
          const kb = dashState.breakdown === 'category' ? b.category : b.district;
          if (ka === null) return -1;
          if (kb === null) return 1;
          return b.year_to_date.current - a.year_to_date.current || String(ka).localeCompare(String(kb));
        });
      const name = (r: (typeof rows)[number]) =>
        dashState.breakdown === 'category' ? (r.category === null ? t('cs.allCategories') : catName(r.category)) : r.district === null ? t('cs.allDistricts') : r.district;
      const header = [dashState.breakdown === 'category' ? t('common.category') : t('common.district')];
      for (const p of PERIODS) header.push(`${t(`period.${p}` as Key)}: ${t('cs.current')}`, t('cs.previous'), t('cs.change'));
      const cellText = (c: CompstatCell) => [fmtInt(c.current), fmtInt(c.previous), changeText(c)];
      const tableRows = rows.map((r) => [name(r), ...PERIODS.flatMap((p) => cellText(r[p]))]);
      const tbl = h(
        'table',
        { class: 'data compstat', 'data-testid': 'compstat-table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', { rowspan: 2 }, header[0]), PERIODS.map((p) => h('th', { colspan: 3, class: 'period' }, t(`period.${p}` as Key), h('div', { class: 'period-dates' }, periodText(cs, p))))),
          h('tr', null, PERIODS.map(() => [h('th', { class: 'num' }, t('cs.current')), h('th', { class: 'num' }, t('cs.previous')), h('th', { class: 'num' }, t('cs.change'))])),
        ),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h(
              'tr',
              { class: (dashState.breakdown === 'category' ? r.category : r.district) === null ? 'total-row' : '' },
              h('td', null, name(r)),
              PERIODS.map((p) => {
                const c = r[p];
                const cls = c.change_percent === null ? '' : c.change_percent > 0 ? 'up' : c.change_percent < 0 ? 'down' : '';
                return [
                  h('td', { class: 'num' }, fmtInt(c.current)),
                  h('td', { class: 'num muted' }, fmtInt(c.previous)),
                  h('td', { class: `num ${cls} ${c.significant ? 'sig' : ''}`, title: c.p_value !== null ? `p = ${c.p_value.toPrecision(3)}` : '' }, changeText(c)),
                ];
              }),
            ),
          ),
        ),
      );
      replace(body, h('div', { class: 'compstat-meta' }, lab(t('dash.asOf'), h('b', null, cs.date)), lab('', bdSel), h('span', { class: 'hint' }, t('cs.significant', { alpha: cs.alpha }))), h('div', { class: 'table-scroll' }, tbl));
      csvRows = rows.map((r) => [
        dashState.breakdown === 'category' ? (r.category ?? '') : (r.district ?? ''),
        ...PERIODS.flatMap((p) => [r[p].current, r[p].previous, r[p].change_percent === null ? '' : Math.round(r[p].change_percent * 10) / 10, r[p].p_value ?? '', r[p].significant ? 1 : 0]),
      ]);
      pngRows = tableRows;
      pngHeader = header;
    };
    let csvRows: unknown[][] = [];
    let pngRows: string[][] = [];
    let pngHeader: string[] = [];
    bdSel.addEventListener('change', draw);
    draw();
    return panel(
      `${t('dash.compstat')} — ${cs.territory}`,
      body,
      {
        csv: () =>
          downloadCsv(`compstat_${stem}_${dashState.breakdown}.csv`, [
            dashState.breakdown,
            ...PERIODS.flatMap((p) => [`${p}_current`, `${p}_previous`, `${p}_change_percent`, `${p}_p_value`, `${p}_significant`]),
          ], csvRows),
        png: () => {
          const c = document.createElement('canvas');
          drawTable(c, `${t('dash.compstat')} — ${cs.territory}, ${t('dash.asOf')} ${cs.date}`, pngHeader, pngRows, pngHeader.map((_, i) => i > 0));
          downloadCanvas(c, `compstat_${stem}.png`);
        },
      },
      'compstat',
    );
  }

  function heatPanel(tp: TimeProfile, stem: string): HTMLElement {
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'heat-canvas' });
    const labels = (tp.weekdays?.length ? tp.weekdays : WEEKDAYS_EN).map(wdLabel);
    const unknown = (tp.hour_unknown_by_weekday ?? []).reduce((a, b) => a + b, 0);
    const body = h('div', null, canvas, h('div', { class: 'hint' }, t('common.total', { n: fmtInt(tp.incidents) }), unknown > 0 ? ` · ${t('dash.hourUnknown', { n: fmtInt(Math.round(unknown)) })}` : ''));
    requestAnimationFrame(() => drawHeat(canvas, Math.max(360, body.clientWidth || 560), tp.hour_weekday, labels, ''));
    return panel(
      t('dash.heat'),
      body,
      {
        csv: () =>
          downloadCsv(
            `hour_weekday_${stem}.csv`,
            ['weekday', ...Array.from({ length: 24 }, (_, i) => String(i)), 'hour_unknown'],
            (tp.weekdays?.length ? tp.weekdays : WEEKDAYS_EN).map((d, i) => [d, ...(tp.hour_weekday[i] ?? []), tp.hour_unknown_by_weekday?.[i] ?? 0]),
          ),
        png: () => {
          const c = document.createElement('canvas');
          drawHeat(c, 760, tp.hour_weekday, labels, `${t('dash.heat')} — ${tp.territory ?? filters.territory}, ${filters.from} – ${filters.to}`);
          downloadCanvas(c, `hour_weekday_${stem}.png`);
        },
      },
      'heat',
    );
  }

  function trendPanel(monthly: { month: string; count: number }[], stem: string): HTMLElement {
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'trend-canvas' });
    const data = [...monthly].sort((a, b) => a.month.localeCompare(b.month));
    const body = h('div', null, canvas);
    requestAnimationFrame(() => drawLine(canvas, Math.max(360, body.clientWidth || 560), data.map((d) => d.month), data.map((d) => d.count), ''));
    return panel(
      t('dash.trend'),
      body,
      {
        csv: () => downloadCsv(`monthly_${stem}.csv`, ['month', 'count'], data.map((d) => [d.month, d.count])),
        png: () => {
          const c = document.createElement('canvas');
          drawLine(c, 760, data.map((d) => d.month), data.map((d) => d.count), `${t('dash.trend')} — ${filters.territory}`);
          downloadCanvas(c, `monthly_${stem}.png`);
        },
      },
      'trend',
    );
  }

  function categoryPanel(st: Stats, stem: string): HTMLElement {
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'categories-canvas' });
    const data = [...st.by_category].sort((a, b) => b.count - a.count);
    const body = h('div', null, canvas, h('div', { class: 'hint' }, t('common.total', { n: fmtInt(st.total) })));
    const labels = data.map((d) => catName(d.category));
    requestAnimationFrame(() => drawBars(canvas, Math.max(360, body.clientWidth || 560), labels, data.map((d) => d.count), ''));
    return panel(
      t('dash.categories'),
      body,
      {
        csv: () => downloadCsv(`categories_${stem}.csv`, ['category', 'count'], data.map((d) => [d.category, d.count])),
        png: () => {
          const c = document.createElement('canvas');
          drawBars(c, 700, labels, data.map((d) => d.count), `${t('dash.categories')} — ${filters.territory}`);
          downloadCanvas(c, `categories_${stem}.png`);
        },
      },
      'categories',
    );
  }

  function districtPanel(st: Stats, stem: string): HTMLElement {
    const canvas = h('canvas', { class: 'chart', 'data-testid': 'districts-canvas' });
    const all = [...st.by_district].sort((a, b) => b.count - a.count);
    const top = all.slice(0, 15);
    const labels = top.map((d) => d.district ?? t('common.none'));
    const body = h('div', null, canvas);
    requestAnimationFrame(() => drawBars(canvas, Math.max(360, body.clientWidth || 560), labels, top.map((d) => d.count), '', '#8a5a00'));
    return panel(
      t('dash.districts'),
      body,
      {
        csv: () => downloadCsv(`districts_${stem}.csv`, ['district', 'count'], all.map((d) => [d.district ?? '', d.count])),
        png: () => {
          const c = document.createElement('canvas');
          drawBars(c, 700, labels, top.map((d) => d.count), `${t('dash.districts')} — ${filters.territory}`, '#8a5a00');
          downloadCanvas(c, `districts_${stem}.png`);
        },
      },
      'districts',
    );
  }
}

function changeText(c: CompstatCell): string {
  if (c.change_percent === null) return t('common.none');
  const v = Math.round(c.change_percent * 10) / 10;
  const s = `${v > 0 ? '+' : ''}${v.toFixed(1)}`;
  return c.significant ? `${s} ${v > 0 ? '▲' : '▼'}` : s;
}

function periodText(cs: Compstat, p: PeriodKey): string {
  const ps = cs.periods?.[p];
  if (!ps || ps.length < 2) return '';
  const f = (x: { first: string; last: string }) => `${x.first.slice(5)}…${x.last.slice(5)}`;
  return `${ps[0].first.slice(0, 4)}: ${f(ps[0])} / ${ps[1].first.slice(0, 4)}: ${f(ps[1])}`;
}

function lab(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'tb-field' }, label ? h('span', null, label) : null, control);
}
