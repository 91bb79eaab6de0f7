// API reference rendered from the server's OpenAPI 3.1 document.

import { ApiError, getJson } from '../api';
import { h, replace, type Child } from '../dom';
import { t } from '../i18n';
import { errorBox, loading, message, pageTitle } from '../ui';

type Json = Record<string, unknown>;

export async function render(root: HTMLElement): Promise<void> {
  root.appendChild(loading());
  let doc: Json;
  try {
    doc = await getJson<Json>('/openapi.json');
  } catch (e) {
    replace(root, pageTitle(t('api.title')), e instanceof ApiError && e.status === 404 ? message('info', t('api.notYet')) : errorBox(e));
    return;
  }
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  const ops: HTMLElement[] = [];
  const toc: HTMLElement[] = [];
  const tagsSeen = new Map<string, HTMLElement[]>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const params = [...((item.parameters as Json[]) ?? []), ...((op.parameters as Json[]) ?? [])].map((p) => deref(p, doc));
      const body = op.requestBody ? deref(op.requestBody as Json, doc) : null;
      const responses = (op.responses ?? {}) as Record<string, Json>;
      const el = h(
        'details',
        { class: 'api-op', 'data-path': path },
        h('summary', null, h('span', { class: `method method-${method}` }, method.toUpperCase()), h('code', null, `/api/v1${path.replace(/^\/api\/v1/, '')}`), h('span', { class: 'muted' }, String(op.summary ?? ''))),
        h(
          'div',
          { class: 'body' },
          op.description ? h('p', null, String(op.description)) : null,
          params.length
            ? [
                h('h4', null, t('api.params')),
                h(
                  'table',
                  { class: 'data' },
                  h('thead', null, h('tr', null, h('th', null, t('api.name')), h('th', null, t('api.in')), h('th', null, t('api.type')), h('th', null, t('api.description')))),
                  h(
                    'tbody',
                    null,
                    params.map((p) =>
                      h(
                        'tr',
                        null,
                        h('td', null, h('code', null, String(p.name)), p.required ? h('span', { class: 'small muted' }, ` (${t('api.required')})`) : null),
                        h('td', null, String(p.in ?? '')),
                        h('td', null, schemaText((p.schema ?? {}) as Json, doc)),
                        h('td', null, String(p.description ?? '')),
                      ),
                    ),
                  ),
                ),
              ]
            : null,
          body ? [h('h4', null, t('api.request')), contentView((body.content ?? {}) as Record<string, Json>, doc)] : null,
          h('h4', null, t('api.responses')),
          h(
            'table',
            { class: 'data' },
            h(
              'tbody',
              null,
              Object.entries(responses).map(([code, r0]) => {
                const r = deref(r0, doc);
                return h('tr', null, h('td', null, h('b', null, code)), h('td', null, String(r.description ?? '')), h('td', null, contentView((r.content ?? {}) as Record<string, Json>, doc)));
              }),
            ),
          ),
        ),
      );
      ops.push(el);
      const tag = ((op.tags as string[]) ?? ['api'])[0];
      if (!tagsSeen.has(tag)) tagsSeen.set(tag, []);
      tagsSeen.get(tag)!.push(el);
    }
  }
  const sections: Child[] = [];
  for (const [tag, els] of tagsSeen) {
    toc.push(h('a', { href: `#/api`, onclick: (ev: Event) => (ev.preventDefault(), document.getElementById(`tag-${tag}`)?.scrollIntoView()) }, tag));
    sections.push(h('h3', { id: `tag-${tag}`, class: 'api-tag' }, tag), els);
  }
  replace(
    root,
    pageTitle(t('api.title'), h('span', { class: 'muted' }, `${String(info.title ?? '')} ${String(info.version ?? '')} · OpenAPI ${String(doc.openapi ?? '')}`)),
    info.description ? h('p', null, String(info.description)) : null,
    h('div', { class: 'api-toc' }, toc),
    h('div', { class: 'api-ops', 'data-testid': 'api-ops' }, sections),
  );
}

function deref(o: Json, doc: Json): Json {
  let cur = o;
  for (let i = 0; i < 5 && cur && typeof cur.$ref === 'string'; i++) {
    const parts = (cur.$ref as string).replace(/^#\//, '').split('/');
    let x: unknown = doc;
    for (const p of parts) x = (x as Json)?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
    cur = (x as Json) ?? {};
  }
  return cur;
}

function schemaText(s: Json, doc: Json): string {
  if (typeof s.$ref === 'string') return (s.$ref as string).split('/').pop() ?? '';
  if (Array.isArray(s.type)) return (s.type as string[]).join(' | ');
  if (s.type === 'array') return `${schemaText((s.items ?? {}) as Json, doc)}[]`;
  if (s.enum) return (s.enum as unknown[]).map((x) => JSON.stringify(x)).join(' | ');
  for (const k of ['oneOf', 'anyOf', 'allOf']) if (Array.isArray(s[k])) return (s[k] as Json[]).map((x) => schemaText(x, doc)).join(k === 'allOf' ? ' & ' : ' | ');
  return String(s.type ?? (s.format ? s.format : 'object')) + (s.format && s.type ? ` (${String(s.format)})` : '');
}

function contentView(content: Record<string, Json>, doc: Json): HTMLElement | null {
  const entries = Object.entries(content);
  if (!entries.length) return null;
  return h(
    'div',
    null,
    entries.map(([mime, c]) => h('div', null, h('span', { class: 'tag' }, mime), ' ', c.schema ? schemaView(c.schema as Json, doc, 0) : null)),
  );
}

function schemaView(s: Json, doc: Json, depth: number): HTMLElement {
  const name = typeof s.$ref === 'string' ? (s.$ref as string).split('/').pop() : null;
  const r = deref(s, doc);
  const target = r.type === 'array' ? deref((r.items ?? {}) as Json, doc) : r;
  const props = (target.properties ?? {}) as Record<string, Json>;
  const req = new Set((target.required as string[]) ?? []);
  const label = h('code', null, name ?? schemaText(r, doc));
  if (!Object.keys(props).length || depth > 2) return h('span', null, r.type === 'array' ? h('code', null, `${schemaText(r, doc)}`) : label);
  return h(
    'details',
    { class: 'schema' },
    h('summary', null, r.type === 'array' ? h('code', null, `${schemaText(r, doc)}`) : label),
    h(
      'table',
      { class: 'data schema-props' },
      h(
        'tbody',
        null,
        Object.entries(props).map(([k, p]) =>
          h(
            'tr',
            null,
            h('td', null, h('code', null, k), req.has(k) ? h('span', { class: 'small muted' }, ' *') : null),
            h('td', null, schemaText(p, doc)),
            h('td', { class: 'muted' }, String(deref(p, doc).description ?? p.description ?? '')),
          ),
        ),
      ),
    ),
  );
}
