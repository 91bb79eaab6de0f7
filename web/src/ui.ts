// Shared page pieces: messages, error display, filter bar, tables, export buttons.

import { ApiError, type Territory } from './api';
import { h, type Child } from './dom';
import { catName, t } from './i18n';
import { categories } from './state';

export function message(kind: 'info' | 'error' | 'ok' | 'warn', ...text: Child[]): HTMLElement {
  return h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...text);
}

export function forbidden(): HTMLElement {
  return h('div', { class: 'forbidden', 'data-testid': 'forbidden' }, h('h2', null, t('err.forbidden')), h('p', null, t('err.forbiddenText')));
}

/** A user-facing text for an API failure. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return t('err.forbidden');
    if (e.status === 404) return t('common.notAvailable');
    if (e.status >= 500) return t('err.server', { msg: e.message });
    return t('err.request', { status: e.status, msg: e.message });
  }
  if (e instanceof TypeError) return t('err.network');
  return String(e instanceof Error ? e.message : e);
}

/** The error box for a failed call; 403 becomes the "access denied" block. */
export function errorBox(e: unknown): HTMLElement {
  if (e instanceof ApiError && e.status === 403) return forbidden();
  return message('error', errorText(e));
}

export function loading(): HTMLElement {
  return h('div', { class: 'loading' }, t('common.loading'));
}

export function territorySelect(list: Territory[], value: string): HTMLSelectElement {
  const s = h('select', { name: 'territory', 'data-testid': 'territory' });
  for (const x of list) s.appendChild(h('option', { value: x.name }, x.name));
  s.value = value;
  return s;
}

export async function categorySelect(value: string): Promise<HTMLSelectElement> {
  const codes = await categories().catch(() => [] as string[]);
  const s = h('select', { name: 'category', 'data-testid': 'category' }, h('option', { value: '' }, t('common.allCategories')));
  for (const c of codes) s.appendChild(h('option', { value: c }, catName(c)));
  s.value = value;
  return s;
}

export function dateInput(name: string, value: string): HTMLInputElement {
  return h('input', { type: 'date', name, value, 'data-testid': name });
}

export interface Column<T> {
  label: string;
  value: (row: T) => Child;
  csv?: (row: T) => unknown;
  class?: string;
}

export function table<T>(cols: Column<T>[], rows: T[], attrs: Record<string, string> = {}): HTMLTableElement {
  return h(
    'table',
    { class: 'data', ...attrs },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { class: c.class }, c.label)))),
    h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => h('td', { class: c.class }, c.value(r)))))),
  );
}

/** A panel (card) with a title and CSV / PNG buttons. */
export function panel(title: string, body: Child, actions?: { csv?: () => void; png?: () => void; csvTestid?: string; pngTestid?: string }, testid?: string): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'data-testid': testid },
    h(
      'header',
      { class: 'panel-head' },
      h('h3', null, title),
      h(
        'div',
        { class: 'panel-actions' },
        actions?.csv ? h('button', { type: 'button', class: 'btn-small', 'data-export': 'csv', 'data-testid': actions.csvTestid, onclick: actions.csv }, t('common.csv')) : null,
        actions?.png ? h('button', { type: 'button', class: 'btn-small', 'data-export': 'png', 'data-testid': actions.pngTestid, onclick: actions.png }, t('common.png')) : null,
      ),
    ),
    h('div', { class: 'panel-body' }, body),
  );
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return t('common.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function pageTitle(text: string, ...extra: Child[]): HTMLElement {
  return h('div', { class: 'page-title' }, h('h2', null, text), ...extra);
}

/** A file picker with a translated button (the native one speaks the browser's language). */
export function filePicker(input: HTMLInputElement, buttonLabel: string, noneLabel: string): HTMLElement {
  input.classList.add('visually-hidden');
  const name = h('span', { class: 'file-name' }, noneLabel);
  const btn = h('button', { type: 'button', class: 'btn', onclick: () => input.click() }, buttonLabel);
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    name.textContent = f ? `${f.name} (${Math.max(1, Math.round(f.size / 1024))} KB)` : noneLabel;
  });
  return h('span', { class: 'file-picker' }, btn, name, input);
}

/**
 * The server's own words for a failed write (its message names the field or the rule), so that
 * a refused action says why; 403 keeps the "access denied" wording with the reason.
 */
export function serverErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `${t('err.forbidden')}: ${e.message}`;
    if (e.status >= 500) return t('err.server', { msg: e.message });
    return t('err.request', { status: e.status, msg: e.message });
  }
  return errorText(e);
}

export function serverError(e: unknown, testid = 'action-error'): HTMLElement {
  const m = message('error', serverErrorText(e));
  m.setAttribute('data-testid', testid);
  return m;
}

/** Tabs as links (each a hash route), the current one marked for assistive technology. */
export function tabLinks(items: { key: string; label: string; href: string }[], active: string, label: string, testPrefix: string): HTMLElement {
  return h(
    'nav',
    { class: 'tabs', 'aria-label': label },
    items.map((x) =>
      h('a', { href: x.href, class: x.key === active ? 'tab active' : 'tab', 'aria-current': x.key === active ? 'page' : null, 'data-testid': `${testPrefix}-${x.key}` }, x.label),
    ),
  );
}
