// The notification bell of the header: the number of unread reminders and escalations, asked
// once per page render (and after the user's own actions), never in a loop.

import { getJson, type AppNotification } from './api';
import { h } from './dom';
import { fmtInt, t } from './i18n';

let current: HTMLAnchorElement | null = null;
let seq = 0;
/** The last count known, shown by a new bell until the server answers. */
let last = 0;

const SVG = 'http://www.w3.org/2000/svg';

function bellIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', 'M12 2a6 6 0 0 0-6 6v3.6L4.3 15.2A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.8L18 11.6V8a6 6 0 0 0-6-6zm0 20a3 3 0 0 0 2.8-2H9.2a3 3 0 0 0 2.8 2z');
  path.setAttribute('fill', 'currentColor');
  svg.appendChild(path);
  return svg;
}

/** The bell for the header; it asks the server for the unread count at once. */
export function bell(active: boolean): HTMLAnchorElement {
  const count = h('span', { class: 'bell-count', 'data-testid': 'bell-count' });
  const a = h('a', { href: '#/notifications', class: active ? 'bell active' : 'bell', 'data-testid': 'bell', title: t('ntf.title') }, count);
  a.prepend(bellIcon());
  show(a, last);
  current = a;
  void refreshBell();
  return a;
}

function show(a: HTMLAnchorElement, n: number): void {
  const count = a.querySelector<HTMLElement>('.bell-count');
  if (count) {
    count.textContent = n > 99 ? '99+' : fmtInt(n);
    count.hidden = n === 0;
  }
  a.dataset.unread = String(n);
  a.setAttribute('aria-label', t('ntf.bell', { n: fmtInt(n) }));
  a.classList.toggle('has-unread', n > 0);
}

/** Forgets the count (at logout). */
export function forgetBell(): void {
  last = 0;
  current = null;
  seq++;
}

/** Asks for the unread count again (after marking read, acting on an assignment, …). */
export async function refreshBell(): Promise<void> {
  const a = current;
  if (!a) return;
  const my = ++seq;
  try {
    const r = await getJson<{ notifications: AppNotification[] }>('/notifications?unread=true', { noRedirect: true });
    if (my !== seq || a !== current) return;
    last = r.notifications.length;
    show(a, last);
  } catch {
    /* the bell stays as it was: the page itself reports errors */
  }
}
