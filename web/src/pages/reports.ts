// The council briefing pack (#/reports): territory, period, language and format, then
// GET …/reports/council fetched with the session, saved under the server's file name (and, for
// HTML, offered to open in a new tab). Administrators, analysts and commanders produce packs;
// the other roles see what a pack holds and a note that theirs cannot.

import { request, type Territory } from '../api';
import { h, replace, select } from '../dom';
import { LANGS, lang, t, type Lang } from '../i18n';
import { councilPath, fallbackName, filenameFromDisposition, localToday, periodOk, presetOf, presetPeriod, sizeText, type PackFormat, type PackQuery, type PeriodPreset } from '../reports';
import { can, defaultTerritory, filters, session, territories } from '../state';
import { errorBox, loading, message, pageTitle, serverError } from '../ui';
import { defaultRange } from './range';

interface PackResult {
  query: PackQuery;
  name: string;
  size: number;
  url: string;
}

/** Kept while the application is open: the choices, the request under way and the last file. */
const repState = {
  from: '',
  to: '',
  /** null: the language of the interface. */
  lang: null as Lang | null,
  format: 'pdf' as PackFormat,
  pending: null as { query: PackQuery; promise: Promise<PackResult>; ctrl: AbortController } | null,
  result: null as PackResult | null,
};

/** Saves a file the page holds as an object URL. */
function save(url: string, name: string): void {
  const a = h('a', { href: url, download: name, rel: 'noopener', hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/**
 * Asks the server for a pack and saves it as soon as it arrives (also when the page has been
 * drawn anew meanwhile, e.g. in another language); one request at a time.
 */
function produce(q: PackQuery): Promise<PackResult> {
  repState.pending?.ctrl.abort();
  const ctrl = new AbortController();
  const promise = (async () => {
    const res = await request(councilPath(q), { accept: q.format === 'pdf' ? 'application/pdf' : 'text/html', signal: ctrl.signal });
    const data = await res.blob();
    const blob = new Blob([data], { type: q.format === 'pdf' ? 'application/pdf' : 'text/html;charset=utf-8' });
    const name = filenameFromDisposition(res.headers.get('Content-Disposition'), fallbackName(q));
    const result: PackResult = { query: q, name, size: blob.size, url: URL.createObjectURL(blob) };
    if (repState.result) {
      const old = repState.result.url;
      // A download of the previous file may still be reading it.
      setTimeout(() => URL.revokeObjectURL(old), 60_000);
    }
    repState.result = result;
    save(result.url, result.name);
    return result;
  })().finally(() => {
    if (repState.pending?.promise === promise) repState.pending = null;
  });
  repState.pending = { query: q, promise, ctrl };
  return promise;
}

export async function render(root: HTMLElement): Promise<() => void> {
  const intro = h('p', { class: 'rep-intro', 'data-testid': 'rep-intro' }, t('rep.intro'));
  if (!can.councilPack(session.me?.role)) {
    const note = message('info', t('rep.roleNote'));
    note.setAttribute('data-testid', 'rep-role-note');
    replace(root, pageTitle(t('nav.reports')), intro, note);
    return () => {};
  }
  replace(root, pageTitle(t('nav.reports')), intro, loading());
  let list: Territory[];
  try {
    list = await territories();
  } catch (e) {
    replace(root, pageTitle(t('nav.reports')), intro, errorBox(e));
    return () => {};
  }
  if (list.length === 0) {
    replace(root, pageTitle(t('nav.reports')), intro, message('info', t('common.noTerritories')));
    return () => {};
  }
  let disposed = false;
  const today = localToday();
  if (!periodOk({ from: repState.from, to: repState.to })) Object.assign(repState, presetPeriod('last12', today));
  filters.territory = defaultTerritory(list);

  const terrSel = select('territory', list.map((x) => [x.name, x.name]), filters.territory, { 'data-testid': 'rep-territory' });
  const fromIn = h('input', { type: 'date', name: 'from', value: repState.from, required: true, 'data-testid': 'rep-from' });
  const toIn = h('input', { type: 'date', name: 'to', value: repState.to, required: true, 'data-testid': 'rep-to' });
  const presetLabels: Record<PeriodPreset, string> = { last12: t('rep.last12'), quarter: t('rep.lastQuarter'), year: t('rep.lastYear') };
  const presetBtns = (Object.keys(presetLabels) as PeriodPreset[]).map((k) =>
    h('button', { type: 'button', class: 'btn-small', 'data-preset': k, 'data-testid': `rep-preset-${k}`, 'aria-pressed': 'false', onclick: () => setPeriod(presetPeriod(k, today)) }, presetLabels[k]),
  );
  const langSel = select('lang', LANGS.map((l) => [l.code, l.label]), repState.lang ?? lang(), { 'data-testid': 'rep-lang' });
  const formatRadio = (f: PackFormat, label: string) =>
    h('label', { class: 'rep-radio' }, h('input', { type: 'radio', name: 'format', value: f, checked: repState.format === f, 'data-testid': `rep-format-${f}` }), ' ', label);
  const formatSet = h('fieldset', { class: 'rep-format' }, h('legend', null, t('rep.format')), formatRadio('pdf', t('rep.pdf')), formatRadio('html', t('rep.html')));
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'rep-generate' }, t('rep.generate'));
  const status = h('div', { class: 'rep-status', 'data-testid': 'rep-status', role: 'status', 'aria-live': 'polite' });
  const dataNote = h('div', { class: 'rep-data-note', 'data-testid': 'rep-data-note' });
  const form = h(
    'form',
    { class: 'card rep-form', 'data-testid': 'rep-form', 'aria-label': t('rep.settings'), novalidate: true },
    h(
      'div',
      { class: 'rep-row' },
      field(t('common.territory'), terrSel),
      h(
        'fieldset',
        { class: 'rep-period' },
        h('legend', null, t('rep.period')),
        h('div', { class: 'rep-dates' }, field(t('common.from'), fromIn), field(t('common.to'), toIn), h('div', { class: 'rep-presets', role: 'group', 'aria-label': t('rep.quick') }, presetBtns)),
      ),
    ),
    h('div', { class: 'rep-row' }, field(t('rep.lang'), langSel), formatSet),
    dataNote,
    h('div', { class: 'form-actions' }, submit),
    status,
  );
  replace(root, pageTitle(t('nav.reports')), intro, form);

  function field(label: string, control: HTMLElement): HTMLLabelElement {
    return h('label', { class: 'field rep-field' }, h('span', { class: 'field-label' }, label), control);
  }

  function query(): PackQuery {
    const format = (form.querySelector<HTMLInputElement>('input[name=format]:checked')?.value ?? 'pdf') as PackFormat;
    return { territory: terrSel.value, from: fromIn.value, to: toIn.value, lang: langSel.value as Lang, format };
  }

  function markPreset(): void {
    const p = presetOf({ from: fromIn.value, to: toIn.value }, today);
    for (const b of presetBtns) b.setAttribute('aria-pressed', String(b.dataset.preset === p));
  }

  function setPeriod(p: { from: string; to: string }): void {
    repState.from = fromIn.value = p.from;
    repState.to = toIn.value = p.to;
    markPreset();
    void checkData();
  }

  // The period after the territory's last data: say so, and offer the last twelve months with data.
  let dataSeq = 0;
  async function checkData(): Promise<void> {
    const my = ++dataSeq;
    const territory = terrSel.value;
    const r = await defaultRange(territory).catch(() => null);
    if (disposed || my !== dataSeq) return;
    replace(dataNote);
    if (!r || !periodOk({ from: fromIn.value, to: toIn.value }) || fromIn.value <= r.to) return;
    dataNote.appendChild(
      message(
        'warn',
        t('rep.dataEnd', { territory, date: r.to }),
        ' ',
        h('button', { type: 'button', class: 'btn-small', 'data-testid': 'rep-use-data', onclick: () => setPeriod(r) }, t('rep.useData')),
      ),
    );
  }

  function showBusy(): void {
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    replace(status, h('div', { class: 'rep-busy', 'data-testid': 'rep-busy' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, t('rep.busy'))));
  }

  function showResult(r: PackResult): void {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
    replace(
      status,
      h(
        'div',
        { class: 'msg msg-ok rep-result', 'data-testid': 'rep-result', 'data-format': r.query.format },
        h('span', null, t('rep.done', { file: r.name, size: sizeText(r.size, lang()) })),
        h(
          'span',
          { class: 'rep-result-actions' },
          h('a', { href: r.url, download: r.name, class: 'btn-small', 'data-testid': 'rep-download' }, t('rep.downloadAgain')),
          r.query.format === 'html' ? h('a', { href: r.url, target: '_blank', rel: 'noopener', class: 'btn-small', title: t('rep.openTitle'), 'data-testid': 'rep-open' }, t('rep.open')) : null,
        ),
      ),
    );
  }

  function showError(e: unknown): void {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
    replace(status, serverError(e, 'rep-error'));
  }

  async function follow(p: Promise<PackResult>): Promise<void> {
    showBusy();
    try {
      const r = await p;
      if (!disposed) showResult(r);
    } catch (e) {
      if (disposed || (e instanceof DOMException && e.name === 'AbortError')) return;
      showError(e);
    }
  }

  terrSel.addEventListener('change', () => {
    filters.territory = terrSel.value;
    void checkData();
  });
  for (const inp of [fromIn, toIn]) {
    inp.addEventListener('change', () => {
      repState.from = fromIn.value;
      repState.to = toIn.value;
      markPreset();
      void checkData();
    });
  }
  langSel.addEventListener('change', () => {
    repState.lang = langSel.value as Lang;
  });
  formatSet.addEventListener('change', () => {
    repState.format = query().format;
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = query();
    if (!periodOk(q)) {
      replace(status, message('error', t('rep.badPeriod')));
      (q.from ? toIn : fromIn).focus();
      return;
    }
    void follow(produce(q));
  });

  markPreset();
  void checkData();
  // A pack under way (e.g. the page drawn anew in another language) or the last one produced.
  if (repState.pending) void follow(repState.pending.promise);
  else if (repState.result) showResult(repState.result);

  return () => {
    disposed = true;
  };
}
