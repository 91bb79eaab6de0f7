// Login, forced password change, first-administrator setup.

import { ApiError, getJson, postJson, setCsrf, type Me } from '../api';
import { field, h, replace } from '../dom';
import { t } from '../i18n';
import { go } from '../router';
import { resetCaches, session } from '../state';
import { errorText, message } from '../ui';

function loggedIn(me: Me): void {
  session.me = me;
  setCsrf(me.csrf_token);
  resetCaches();
  go(me.must_change_password ? 'password' : 'map');
}

export function renderLogin(prefillLogin = '', note?: string): HTMLElement {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, value: prefillLogin, 'data-testid': 'login-login' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const status = h('div', { class: 'form-status' }, note ? message('ok', note) : null);
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'login-submit' }, t('login.submit'));
  const form = h(
    'form',
    { class: 'card auth-card', 'data-testid': 'login-form' },
    h('h2', null, t('login.title')),
    field(t('login.login'), login),
    field(t('login.password'), password),
    status,
    h('div', { class: 'form-actions' }, submit),
    h('p', { class: 'notice' }, t('login.notice')),
    h('p', { class: 'auth-public' }, h('a', { href: '#/public', 'data-testid': 'login-public' }, t('login.public'))),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    replace(status);
    try {
      const me = await postJson<Me>('/auth/login', { login: login.value.trim(), password: password.value }, { noRedirect: true });
      loggedIn(me);
    } catch (e) {
      let text = errorText(e);
      if (e instanceof ApiError && e.status === 401) text = t('login.wrong');
      if (e instanceof ApiError && e.status === 429) text = t('login.tooMany');
      replace(status, message('error', text));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => (prefillLogin ? password : login).focus());
  return form;
}

export function renderPasswordChange(forced: boolean): HTMLElement {
  const current = h('input', { name: 'current', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'pw-current' });
  const next = h('input', { name: 'new', type: 'password', autocomplete: 'new-password', required: true, minlength: 12, 'data-testid': 'pw-new' });
  const repeat = h('input', { name: 'repeat', type: 'password', autocomplete: 'new-password', required: true, 'data-testid': 'pw-repeat' });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'pw-submit' }, t('pw.submit'));
  const form = h(
    'form',
    { class: 'card auth-card', 'data-testid': 'password-form' },
    h('h2', null, t('pw.title')),
    forced ? message('warn', t('pw.mustChange')) : null,
    field(t('pw.current'), current),
    field(t('pw.new'), next, t('pw.tooShort')),
    field(t('pw.repeat'), repeat),
    status,
    h('div', { class: 'form-actions' }, submit, !forced ? h('a', { href: '#/map', class: 'btn-link' }, t('common.cancel')) : null),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(status);
    if ([...next.value].length < 12) return replace(status, message('error', t('pw.tooShort')));
    if (next.value !== repeat.value) return replace(status, message('error', t('pw.mismatch')));
    submit.disabled = true;
    try {
      await postJson('/auth/password', { current: current.value, new: next.value });
      // The server may renew the session on a password change: read it again.
      const me = await getJson<Me>('/auth/me');
      loggedIn({ ...me, must_change_password: false });
    } catch (e) {
      let text = errorText(e);
      if (e instanceof ApiError && e.status === 403) text = t('pw.wrongCurrent');
      if (e instanceof ApiError && e.status === 400) text = t('pw.weak', { msg: e.message });
      replace(status, message('error', text));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function renderSetup(params: URLSearchParams): HTMLElement {
  const token = h('input', { name: 'token', required: true, value: params.get('token') ?? '', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'setup-token' });
  const login = h('input', { name: 'login', required: true, autocomplete: 'username', 'data-testid': 'setup-login' });
  const name = h('input', { name: 'display_name', required: true, autocomplete: 'name', 'data-testid': 'setup-name' });
  const pw = h('input', { name: 'password', type: 'password', required: true, minlength: 12, autocomplete: 'new-password', 'data-testid': 'setup-password' });
  const repeat = h('input', { name: 'repeat', type: 'password', required: true, autocomplete: 'new-password', 'data-testid': 'setup-repeat' });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'setup-submit' }, t('setup.submit'));
  const form = h(
    'form',
    { class: 'card auth-card', 'data-testid': 'setup-form' },
    h('h2', null, t('setup.title')),
    h('p', null, t('setup.explain')),
    field(t('setup.token'), token),
    field(t('login.login'), login),
    field(t('setup.displayName'), name),
    field(t('login.password'), pw, t('pw.tooShort')),
    field(t('pw.repeat'), repeat),
    status,
    h('div', { class: 'form-actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(status);
    if ([...pw.value].length < 12) return replace(status, message('error', t('pw.tooShort')));
    if (pw.value !== repeat.value) return replace(status, message('error', t('pw.mismatch')));
    submit.disabled = true;
    try {
      await postJson('/setup', { token: token.value.trim(), login: login.value.trim(), display_name: name.value.trim(), password: pw.value }, { noRedirect: true });
      // Then log in with the new account.
      const me = await postJson<Me>('/auth/login', { login: login.value.trim(), password: pw.value }, { noRedirect: true });
      history.replaceState(null, '', '#/map');
      loggedIn(me);
    } catch (e) {
      let text = errorText(e);
      if (e instanceof ApiError && e.status === 403) text = t('setup.closed');
      if (e instanceof ApiError && e.status === 400) text = t('setup.invalid', { msg: e.message });
      replace(status, message('error', text));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
