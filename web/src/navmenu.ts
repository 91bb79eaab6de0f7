// The header navigation bar: direct links and disclosure menus (a button with aria-expanded
// opening a list of links). Escape closes a menu (the focus returns to its button), so does a
// click outside it or the focus leaving it with Tab; the arrow keys, Home and End move within
// an open menu. The group of the current page is marked.

import { h } from './dom';
import { t } from './i18n';
import { menuFocusIndex, navEntries, type NavLink, type NavRoute } from './navgroups';

function link(l: NavLink, inMenu: boolean): HTMLAnchorElement {
  return h(
    'a',
    {
      href: `#/${l.path}`,
      class: [inMenu ? 'nav-menu-link' : 'nav-link', l.active ? 'active' : ''].filter(Boolean).join(' '),
      'aria-current': l.active ? 'page' : null,
      'data-nav': l.path,
    },
    t(l.label),
  );
}

function buttonOf(group: Element): HTMLButtonElement | null {
  return group.querySelector<HTMLButtonElement>(':scope > button');
}

function setOpen(group: Element, open: boolean): void {
  const btn = buttonOf(group);
  const menu = group.querySelector<HTMLElement>(':scope > .nav-menu');
  if (!btn || !menu) return;
  btn.setAttribute('aria-expanded', String(open));
  menu.hidden = !open;
  group.classList.toggle('open', open);
}

function closeAll(except?: Element): void {
  for (const g of document.querySelectorAll('.nav-group.open')) if (g !== except) setOpen(g, false);
}

function menuLinks(group: Element): HTMLAnchorElement[] {
  return [...group.querySelectorAll<HTMLAnchorElement>('.nav-menu a')];
}

/** The navigation bar for the routes this user may open; `active` is the current route's path. */
export function navBar(routes: NavRoute[], active: string): HTMLElement {
  const list = h('ul', { class: 'nav-list' });
  for (const e of navEntries(routes, active)) {
    if (e.kind === 'link') {
      list.appendChild(h('li', { class: 'nav-item' }, link(e.link, false)));
      continue;
    }
    const menuId = `nav-menu-${e.id}`;
    const btn = h(
      'button',
      {
        type: 'button',
        class: e.active ? 'nav-btn active' : 'nav-btn',
        'aria-expanded': 'false',
        'aria-controls': menuId,
        'data-nav-group': e.id,
      },
      t(e.label),
      e.active ? h('span', { class: 'visually-hidden' }, ` (${t('nav.currentSection')})`) : null,
      h('span', { class: 'nav-caret', 'aria-hidden': 'true' }),
    );
    const menu = h('ul', { class: 'nav-menu', id: menuId, hidden: true }, e.items.map((x) => h('li', null, link(x, true))));
    const group = h('li', { class: e.active ? 'nav-item nav-group active' : 'nav-item nav-group', 'data-group': e.id }, btn, menu);
    btn.addEventListener('click', () => {
      const open = btn.getAttribute('aria-expanded') !== 'true';
      closeAll(group);
      setOpen(group, open);
    });
    group.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        if (!group.classList.contains('open')) return;
        ev.preventDefault();
        ev.stopPropagation();
        setOpen(group, false);
        btn.focus();
        return;
      }
      const links = menuLinks(group);
      const current = links.indexOf(document.activeElement as HTMLAnchorElement);
      if (ev.target === btn && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
        closeAll(group);
        setOpen(group, true);
      } else if (current < 0 || !group.classList.contains('open')) {
        return;
      }
      const next = menuFocusIndex(ev.key, current, links.length);
      if (next === null) return;
      ev.preventDefault();
      links[next].focus();
    });
    // Tab past the last link (or back before the button) closes the menu.
    group.addEventListener('focusout', (ev) => {
      const to = ev.relatedTarget;
      if (to instanceof Node && !group.contains(to)) setOpen(group, false);
    });
    // Following a link closes the menu (also when it is the current page: no new render then).
    menu.addEventListener('click', (ev) => {
      if ((ev.target as Element).closest('a')) setOpen(group, false);
    });
    list.appendChild(group);
  }
  return h('nav', { class: 'nav', 'aria-label': t('nav.label') }, list);
}

// One pair of document listeners for every bar drawn (the header is drawn anew on each page).
document.addEventListener('click', (ev) => {
  const target = ev.target as Node | null;
  for (const g of document.querySelectorAll('.nav-group.open')) if (!target || !g.contains(target)) setOpen(g, false);
});
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  // Escape with the focus elsewhere (e.g. after a click on the page) still closes an open menu.
  closeAll();
});
