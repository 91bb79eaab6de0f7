import './styles.css';
import { ApiError, getJson, postJson, setCsrf, setUnauthorizedHandler, type Me } from './api';
import { h, replace } from './dom';
import { LANGS, initLang, lang, setLang, t, type Key, type Lang } from './i18n';
import { resetCaches, session } from './state';
import { PUBLIC_ROUTE, ROUTES, type Cleanup, type Route } from './routes';
import { forbidden, message } from './ui';
import { go, setRenderer } from './router';
import { renderLogin, renderPasswordChange, renderSetup } from './pages/auth';
import { bell, forgetBell } from './notify';
import { navBar } from './navmenu';

const app = document.getElementById('app')!;
let cleanup: Cleanup = undefined;
let renderSeq = 0;

function parseHash(): { path: string; params: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  return { path: path || '', params: new URLSearchParams(query ?? '') };
}


function runCleanup(): void {
  if (typeof cleanup === 'function') {
    try {
      cleanup();
    } catch {
      /* ignore */
    }
  }
  cleanup = undefined;
}

function header(active: string): HTMLElement {
  const me = session.me;
  const langSel = h('select', { 'aria-label': t('header.language'), 'data-testid': 'lang', class: 'lang' });
  for (const l of LANGS) langSel.appendChild(h('option', { value: l.code }, l.label));
  langSel.value = lang();
  langSel.addEventListener('change', () => {
    setLang(langSel.value as Lang);
    void render();
  });
  const nav = me && !me.must_change_password ? navBar(ROUTES, active) : h('nav', { class: 'nav', 'aria-label': t('nav.label') });
  return h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 26, height: 26 }), h('span', { class: 'brand-name' }, 'Qalqan'), h('span', { class: 'brand-tag' }, t('app.tagline'))),
    nav,
    h(
      'div',
      { class: 'userbox' },
      me && !me.must_change_password ? bell(active === 'notifications') : null,
      me ? h('span', { class: 'user', 'data-testid': 'user' }, h('b', null, me.display_name || me.login), ' · ', h('span', { 'data-testid': 'role' }, t(`role.${me.role}` as Key))) : null,
      langSel,
      me ? h('button', { type: 'button', class: 'btn-link', 'data-testid': 'logout', onclick: logout }, t('header.logout')) : null,
      // The public page without a session: the way in.
      !me && active === 'public' ? h('a', { href: '#/login', class: 'btn-link header-login', 'data-testid': 'header-login' }, t('login.submit')) : null,
    ),
  );
}

async function logout(): Promise<void> {
  try {
    await postJson('/auth/logout', {}, { noRedirect: true });
  } catch {
    /* the session may already be gone */
  }
  session.me = null;
  anonymous = true;
  setCsrf('');
  resetCaches();
  forgetBell();
  go('login');
}

/** Known to have no session (the server said 401): the public page does not ask again. */
let anonymous = false;

async function render(): Promise<void> {
  const seq = ++renderSeq;
  runCleanup();
  document.documentElement.lang = lang();
  const { path, params } = parseHash();

  if (path === 'setup') {
    replace(app, header(''), h('main', { class: 'main narrow' }, renderSetup(params)));
    return;
  }
  // The public page (open data) needs no session: it is drawn with or without one.
  const isPublic = path === PUBLIC_ROUTE.path;
  if (!session.me && path !== 'login' && !(isPublic && anonymous)) {
    try {
      const me = await getJson<Me>('/auth/me', { noRedirect: true });
      if (seq !== renderSeq) return;
      session.me = me;
      anonymous = false;
      setCsrf(me.csrf_token);
    } catch (e) {
      if (seq !== renderSeq) return;
      if (e instanceof ApiError && e.status === 401) anonymous = true;
      else if (!isPublic) {
        replace(app, header(''), h('main', { class: 'main narrow' }, message('error', t('err.network'))));
        return;
      }
    }
  }
  if (isPublic && (!session.me || session.me.must_change_password)) {
    await showRoute(PUBLIC_ROUTE, params, seq);
    return;
  }
  if (!session.me) {
    if (path !== 'login') {
      location.replace('#/login');
      return;
    }
    replace(app, header(''), h('main', { class: 'main narrow' }, renderLogin()));
    return;
  }
  if (path === 'login') {
    go('map');
    return;
  }
  if (session.me.must_change_password || path === 'password') {
    if (path !== 'password') {
      location.replace('#/password');
      return;
    }
    replace(app, header(''), h('main', { class: 'main narrow' }, renderPasswordChange(session.me.must_change_password)));
    return;
  }
  const route = ROUTES.find((r) => r.path === path);
  if (!route) {
    location.replace('#/map');
    return;
  }
  await showRoute(route, params, seq);
}

/** Draws the header and a route's page into the application. */
async function showRoute(route: Route, params: URLSearchParams, seq: number): Promise<void> {
  const main = h('main', { class: `main page-${route.path}` });
  replace(app, header(route.path), main);
  const title = route.nav ?? route.title;
  document.title = `${title ? t(title) : ''} · Qalqan`;
  if (route.allowed && !route.allowed()) {
    main.appendChild(forbidden());
    return;
  }
  const page = await route.load();
  if (seq !== renderSeq) return;
  try {
    const c = await page(main, params);
    if (seq !== renderSeq) {
      if (typeof c === 'function') c();
      return;
    }
    cleanup = c;
  } catch (e) {
    main.appendChild(message('error', String(e instanceof Error ? e.message : e)));
  }
}

setUnauthorizedHandler(() => {
  if (!session.me) return;
  forgetBell();
  session.me = null;
  anonymous = true;
  setCsrf('');
  go('login');
});

initLang();
setRenderer(() => void render());
window.addEventListener('hashchange', () => void render());
void render();
