// Administration: users, agencies, sessions.

import { enc, getJson, postJson, request, type AdminSession, type AdminUser, type Role, type Territory } from '../api';
import { field, h, replace, select } from '../dom';
import { t, type Key } from '../i18n';
import { territories } from '../state';
import { errorBox, errorText, fmtTime, loading, message, pageTitle, panel, table } from '../ui';

const ROLES: Role[] = ['administrator', 'analyst', 'commander', 'district_inspector', 'agency_executor', 'viewer'];

export async function render(root: HTMLElement): Promise<void> {
  const flash = h('div', { class: 'flash', 'data-testid': 'admin-flash' });
  const usersBox = h('div');
  const createBox = h('div');
  const agenciesBox = h('div');
  const sessionsBox = h('div');
  replace(root, pageTitle(t('nav.admin')), flash, usersBox, h('div', { class: 'grid-2' }, createBox, agenciesBox), sessionsBox);

  let terrs: Territory[] = [];
  let agencies: { name: string; users: number }[] = [];

  const say = (node: HTMLElement) => {
    replace(flash, node);
    flash.scrollIntoView({ block: 'nearest' });
  };
  const fail = (e: unknown) => say(errorBox(e));

  async function loadUsers(): Promise<void> {
    replace(usersBox, loading());
    try {
      const users = await getJson<AdminUser[]>('/admin/users');
      replace(usersBox, panel(`${t('admin.users')} (${users.length})`, usersTable(users), undefined, 'users'));
    } catch (e) {
      replace(usersBox, errorBox(e));
    }
  }

  async function loadAgencies(): Promise<void> {
    replace(agenciesBox, loading());
    try {
      agencies = await getJson<{ name: string; users: number }[]>('/admin/agencies');
      const name = h('input', { name: 'agency', required: true, 'data-testid': 'agency-name' });
      const form = h('form', { class: 'inline-form' }, name, h('button', { type: 'submit', class: 'btn' }, t('admin.addAgency')));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          await postJson('/admin/agencies', { name: name.value.trim() });
          say(message('ok', t('admin.done')));
          await loadAgencies();
          renderCreate();
        } catch (e) {
          fail(e);
        }
      });
      replace(
        agenciesBox,
        panel(
          t('admin.agencies'),
          h('div', null, table([{ label: t('ag.name'), value: (a) => a.name }, { label: t('ag.users'), value: (a) => String(a.users), class: 'num' }], agencies, { 'data-testid': 'agencies-table' }), form),
          undefined,
          'agencies',
        ),
      );
    } catch (e) {
      replace(agenciesBox, errorBox(e));
    }
  }

  async function loadSessions(): Promise<void> {
    replace(sessionsBox, loading());
    try {
      const sessions = await getJson<AdminSession[]>('/admin/sessions');
      replace(
        sessionsBox,
        panel(
          `${t('admin.sessions')} (${sessions.length})`,
          table(
            [
              { label: t('u.login'), value: (s) => [s.login, s.current ? h('span', { class: 'tag' }, t('s.current')) : null] },
              { label: t('s.created'), value: (s) => fmtTime(s.created_at) },
              { label: t('s.expires'), value: (s) => fmtTime(s.expires_at) },
              { label: t('s.origin'), value: (s) => s.origin ?? t('common.none') },
              { label: t('s.id'), value: (s) => h('code', { class: 'muted' }, String(s.id).slice(0, 12)) },
              {
                label: t('u.actions'),
                value: (s) =>
                  h('button', {
                    type: 'button',
                    class: 'btn-small btn-danger',
                    onclick: async () => {
                      try {
                        await request(`/admin/sessions/${enc(String(s.id))}`, { method: 'DELETE' });
                        say(message('ok', t('admin.done')));
                        await Promise.all([loadSessions(), loadUsers()]);
                      } catch (e) {
                        fail(e);
                      }
                    },
                  }, t('act.endSession')),
              },
            ],
            sessions,
            { 'data-testid': 'sessions-table' },
          ),
          undefined,
          'sessions',
        ),
      );
    } catch (e) {
      replace(sessionsBox, errorBox(e));
    }
  }

  function usersTable(users: AdminUser[]): HTMLElement {
    const act = (label: string, fn: () => Promise<void>, cls = 'btn-small', testid?: string) =>
      h('button', { type: 'button', class: cls, 'data-act': testid, onclick: () => fn().catch(fail) }, label);
    return table(
      [
        { label: t('u.login'), value: (u) => h('b', null, u.login) },
        { label: t('u.name'), value: (u) => u.display_name },
        { label: t('u.role'), value: (u) => t(`role.${u.role}` as Key) },
        { label: t('u.agency'), value: (u) => u.agency ?? t('common.none') },
        {
          label: t('u.state'),
          value: (u) => [
            h('span', { class: `tag tag-${u.state}` }, t(`state.${u.state}` as Key)),
            u.locked_until ? h('div', { class: 'small muted' }, t('u.locked', { t: fmtTime(u.locked_until) })) : null,
            u.must_change_password ? h('div', { class: 'small muted' }, t('u.mustChange')) : null,
          ],
        },
        { label: t('u.scopes'), value: (u) => (u.scopes.length ? u.scopes.map((s) => (s.district ? `${s.territory} / ${s.district}` : s.territory)).join('; ') : t('common.none')) },
        { label: t('u.sessions'), value: (u) => String(u.sessions), class: 'num' },
        {
          label: t('u.actions'),
          value: (u) =>
            h(
              'div',
              { class: 'actions', 'data-user': u.login },
              u.state === 'active'
                ? act(t('act.disable'), async () => {
                    await postJson(`/admin/users/${enc(u.login)}/disable`, {});
                    say(message('ok', t('admin.done')));
                    await loadUsers();
                  }, 'btn-small btn-danger', 'disable')
                : act(t('act.enable'), async () => {
                    await postJson(`/admin/users/${enc(u.login)}/enable`, {});
                    say(message('ok', t('admin.done')));
                    await loadUsers();
                  }, 'btn-small', 'enable'),
              act(t('act.reset'), async () => {
                const r = await postJson<{ password: string }>(`/admin/users/${enc(u.login)}/reset`, {});
                say(oneTime(u.login, r.password));
                await loadUsers();
              }, 'btn-small', 'reset'),
              act(t('act.revoke'), async () => {
                const r = await postJson<{ revoked: number }>(`/admin/users/${enc(u.login)}/sessions/revoke`, {});
                say(message('ok', t('admin.revoked', { n: r?.revoked ?? 0 })));
                await Promise.all([loadUsers(), loadSessions()]);
              }, 'btn-small', 'revoke'),
              act(t('act.scopes'), async () => say(scopeEditor(u)), 'btn-small', 'scopes'),
            ),
        },
      ],
      users,
      { 'data-testid': 'users-table' },
    );
  }

  function oneTime(login: string, password: string): HTMLElement {
    return message('warn', t('admin.oneTime', { login }), ' ', h('span', { class: 'secret', 'data-testid': 'one-time-password' }, password));
  }

  function scopeEditor(u: AdminUser): HTMLElement {
    const text = h('textarea', { rows: 4, 'data-testid': 'scope-text' });
    text.value = u.scopes.map((s) => (s.district ? `${s.territory} / ${s.district}` : s.territory)).join('\n');
    const form = h(
      'form',
      { class: 'card scope-editor' },
      h('h4', null, t('admin.scopeOf', { login: u.login })),
      h('p', { class: 'hint' }, t('admin.scopeHint'), ' ', terrs.map((x) => x.name).join(', ')),
      text,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn-primary' }, t('common.save')), h('button', { type: 'button', class: 'btn', onclick: () => replace(flash) }, t('common.cancel'))),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const scopes = text.value
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => {
          const [territory, district] = l.split('/').map((x) => x.trim());
          return { territory, district: district || null };
        });
      try {
        await request(`/admin/users/${enc(u.login)}/scopes`, { method: 'PUT', json: { scopes } });
        say(message('ok', t('admin.done')));
        await loadUsers();
      } catch (e) {
        fail(e);
      }
    });
    return form;
  }

  function renderCreate(): void {
    const login = h('input', { name: 'login', required: true, autocomplete: 'off', 'data-testid': 'new-login' });
    const name = h('input', { name: 'display_name', required: true, autocomplete: 'off', 'data-testid': 'new-name' });
    const roleSel = select('role', ROLES.map((r) => [r, t(`role.${r}` as Key)]), 'viewer', { 'data-testid': 'new-role' });
    const agSel = select('agency', [['', t('admin.noAgency')], ...agencies.map((a) => [a.name, a.name] as [string, string])], '', { 'data-testid': 'new-agency' });
    const boxes = terrs.map((x) => h('input', { type: 'checkbox', value: x.name, 'data-territory': x.name }));
    const form = h(
      'form',
      { 'data-testid': 'create-user-form' },
      h('div', { class: 'form-grid' }, field(t('u.login'), login), field(t('u.name'), name), field(t('u.role'), roleSel), field(t('u.agency'), agSel)),
      h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('admin.territories').replace(/\s*\(.*\)$/, '')), h('div', { class: 'checks' }, terrs.map((x, i) => h('label', null, boxes[i], ' ', x.name)))),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'create-user' }, t('admin.create'))),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await postJson<{ login: string; password: string }>('/admin/users', {
          login: login.value.trim(),
          display_name: name.value.trim(),
          role: roleSel.value,
          agency: agSel.value || null,
          territories: boxes.filter((b) => b.checked).map((b) => b.value),
        });
        say(oneTime(r.login ?? login.value.trim(), r.password));
        form.reset();
        await loadUsers();
      } catch (e) {
        say(message('error', errorText(e)));
      }
    });
    replace(createBox, panel(t('admin.createUser'), form, undefined, 'create-user-panel'));
  }

  terrs = await territories().catch(() => []);
  await loadAgencies();
  renderCreate();
  await Promise.all([loadUsers(), loadSessions()]);
}
