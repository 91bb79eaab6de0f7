// Notifications: the user's reminders (due soon) and escalations (overdue), newest first, each
// linking to its assignment, with "mark as read".

import { getJson, postJson, type AppNotification } from '../api';
import { h, replace } from '../dom';
import { fmtDate, fmtEpoch, notificationText } from '../coordination';
import { fmtInt, t, type Key } from '../i18n';
import { refreshBell } from '../notify';
import { errorBox, loading, message, pageTitle, panel, serverError } from '../ui';

const state = { unreadOnly: false };

export async function render(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  let disposed = false;
  if (params.has('unread')) state.unreadOnly = params.get('unread') === '1';
  const unread = h('input', { type: 'checkbox', name: 'unread', checked: state.unreadOnly, 'data-testid': 'ntf-unread-only' });
  const flash = h('div', { class: 'flash', 'aria-live': 'polite' });
  const out = h('div');
  replace(root, pageTitle(t('ntf.title'), h('label', { class: 'tb-check' }, unread, ' ', t('ntf.unreadOnly'))), h('p', { class: 'pl-intro' }, t('ntf.intro')), flash, out);

  const load = async () => {
    replace(out, loading());
    try {
      const r = await getJson<{ notifications: AppNotification[] }>(`/notifications${state.unreadOnly ? '?unread=true' : ''}`);
      if (disposed) return;
      replace(out, view(r.notifications));
    } catch (e) {
      if (!disposed) replace(out, errorBox(e));
    }
  };

  const view = (list: AppNotification[]): HTMLElement => {
    const title = `${t('ntf.title')} (${fmtInt(list.length)})`;
    if (list.length === 0) return panel(title, message('info', state.unreadOnly ? t('ntf.noneUnread') : t('ntf.none')), undefined, 'ntf-panel');
    return panel(
      title,
      h(
        'table',
        { class: 'data ntf-table', 'data-testid': 'ntf-table' },
        h('caption', { class: 'visually-hidden' }, t('ntf.title')),
        h('thead', null, h('tr', null, [t('ntf.kind'), t('ntf.message'), t('co.dueOn'), t('ntf.created'), ''].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          list.map((n) => {
            const mark = n.read
              ? h('span', { class: 'muted small' }, t('ntf.read'))
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn-small',
                    'data-testid': `ntf-read-${n.id}`,
                    onclick: async (ev: Event) => {
                      const b = ev.currentTarget as HTMLButtonElement;
                      b.disabled = true;
                      try {
                        await postJson(`/notifications/${n.id}/read`, {});
                        if (disposed) return;
                        replace(flash);
                        await Promise.all([load(), refreshBell()]);
                      } catch (e) {
                        if (!disposed) replace(flash, serverError(e, 'ntf-error'));
                        b.disabled = false;
                      }
                    },
                  },
                  t('ntf.markRead'),
                );
            return h(
              'tr',
              { class: n.read ? 'read' : 'unread', 'data-id': n.id, 'data-kind': n.kind, 'data-assignment': n.assignment_id },
              h('td', null, h('span', { class: `badge ntf-${n.kind}` }, kindLabel(n.kind))),
              h('td', null, h('a', { href: `#/coordination?assignment=${n.assignment_id}`, title: n.message }, notificationText(n))),
              h('td', { class: 'nowrap' }, fmtDate(n.due_on)),
              h('td', { class: 'nowrap' }, fmtEpoch(n.created_at)),
              h('td', null, mark),
            );
          }),
        ),
      ),
      undefined,
      'ntf-panel',
    );
  };

  unread.addEventListener('change', () => {
    state.unreadOnly = unread.checked;
    void load();
  });
  await load();
  return () => {
    disposed = true;
  };
}

function kindLabel(kind: string): string {
  const k = `ntf.kind.${kind}`;
  return kind === 'overdue' || kind === 'reminder' ? t(k as Key) : kind;
}
