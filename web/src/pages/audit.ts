// The audit trail: paged, filtered, with the hash-chain check.

import { getJson, qs, type AuditEntry, type AuditPage, type AuditVerify } from '../api';
import { h, replace } from '../dom';
import { downloadCsv } from '../export';
import { fmtInt, t } from '../i18n';
import { errorBox, fmtTime, loading, message, pageTitle, panel, table } from '../ui';

const PAGE = 50;

export async function render(root: HTMLElement): Promise<void> {
  const action = h('input', { name: 'action', 'data-testid': 'audit-action' });
  const actor = h('input', { name: 'actor', 'data-testid': 'audit-actor' });
  const verifyBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'audit-verify' }, t('audit.verify'));
  const verifyBox = h('div', { 'data-testid': 'audit-verify-result' });
  const form = h(
    'form',
    { class: 'toolbar audit-toolbar' },
    h('label', { class: 'tb-field' }, h('span', null, t('audit.filterAction')), action),
    h('label', { class: 'tb-field' }, h('span', null, t('audit.filterActor')), actor),
    h('div', { class: 'tb-actions' }, h('button', { type: 'submit', class: 'btn-primary' }, t('common.apply')), verifyBtn),
  );
  const box = h('div');
  replace(root, pageTitle(t('nav.audit')), form, verifyBox, box);

  // `before` of each page shown so far: [undefined (newest), …].
  let stack: (number | undefined)[] = [undefined];

  async function load(): Promise<void> {
    replace(box, loading());
    const before = stack[stack.length - 1];
    try {
      const page = await getJson<AuditPage>(`/admin/audit${qs({ before, limit: PAGE, action: action.value.trim(), actor: actor.value.trim() })}`);
      const newer = h('button', { type: 'button', class: 'btn', disabled: stack.length <= 1, onclick: () => (stack.pop(), void load()) }, t('audit.newest'));
      const older = h('button', { type: 'button', class: 'btn', disabled: page.next_before === null || page.next_before === undefined, 'data-testid': 'audit-older', onclick: () => (stack.push(page.next_before ?? undefined), void load()) }, t('audit.older'));
      replace(
        box,
        panel(
          t('nav.audit'),
          h(
            'div',
            null,
            page.entries.length
              ? table(
                  [
                    { label: t('a.seq'), value: (e: AuditEntry) => String(e.seq), class: 'num' },
                    { label: t('a.time'), value: (e) => fmtTime(e.at) },
                    { label: t('a.actor'), value: (e) => e.actor },
                    { label: t('a.origin'), value: (e) => e.origin ?? t('common.none') },
                    { label: t('a.action'), value: (e) => h('code', null, e.action) },
                    { label: t('a.object'), value: (e) => e.object ?? t('common.none') },
                    { label: t('a.purpose'), value: (e) => e.purpose ?? t('common.none') },
                    { label: t('a.detail'), value: (e) => detail(e.detail) },
                  ],
                  page.entries,
                  { 'data-testid': 'audit-table' },
                )
              : message('info', t('audit.empty')),
            h('div', { class: 'pager' }, newer, older),
          ),
          {
            csv: () =>
              downloadCsv(
                `audit_${page.entries[0]?.seq ?? 0}.csv`,
                ['seq', 'at', 'actor', 'origin', 'action', 'object', 'purpose', 'detail'],
                page.entries.map((e) => [e.seq, e.at, e.actor, e.origin, e.action, e.object, e.purpose, typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)]),
              ),
          },
          'audit',
        ),
      );
    } catch (e) {
      replace(box, errorBox(e));
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    stack = [undefined];
    void load();
  });
  verifyBtn.addEventListener('click', async () => {
    replace(verifyBox, loading());
    try {
      const v = await getJson<AuditVerify>('/admin/audit/verify');
      replace(
        verifyBox,
        v.ok
          ? message('ok', t('audit.ok', { n: fmtInt(v.entries) }), v.head ? h('div', { class: 'small' }, h('code', null, v.head)) : null)
          : message('error', t('audit.broken', { seq: v.break?.seq ?? '?', reason: v.break?.reason ?? '' })),
      );
      verifyBox.firstElementChild?.setAttribute('data-ok', String(v.ok));
    } catch (e) {
      replace(verifyBox, errorBox(e));
    }
  });
  await load();
}

function detail(d: unknown): HTMLElement | string {
  if (d === null || d === undefined || d === '') return t('common.none');
  let v = d;
  if (typeof d === 'string') {
    // The server sends the detail as JSON text.
    try {
      v = JSON.parse(d);
    } catch {
      return d;
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return t('common.none');
    return h('div', { class: 'detail' }, entries.map(([k, x]) => h('div', null, h('span', { class: 'muted' }, `${k}: `), typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))));
  }
  return h('pre', { class: 'json' }, JSON.stringify(v));
}
