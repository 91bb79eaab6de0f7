// Import page: data file + mapping (built-in or uploaded TOML) → the server's report with rejected rows.

import { ApiError, enc, getJson, request, type ImportReport, type Territory } from '../api';
import { field, h, replace, select } from '../dom';
import { downloadCsv, fileSlug } from '../export';
import { fmtInt, t, type Key } from '../i18n';
import { defaultTerritory, filters, forgetTerritories, territories } from '../state';
import { errorBox, errorText, filePicker, loading, message, pageTitle, panel, table } from '../ui';

const UPLOAD = '__upload__';

export async function render(root: HTMLElement): Promise<void> {
  root.appendChild(loading());
  let list: Territory[];
  let mappings: { name: string; toml: string }[] = [];
  try {
    list = await territories();
    mappings = await getJson<{ name: string; toml: string }[]>('/mappings').catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return [];
      throw e;
    });
  } catch (e) {
    replace(root, errorBox(e));
    return;
  }
  if (list.length === 0) {
    replace(root, message('info', t('common.noTerritories')));
    return;
  }

  const terrSel = select('territory', list.map((x) => [x.name, x.name]), defaultTerritory(list), { 'data-testid': 'import-territory' });
  const fileIn = h('input', { type: 'file', name: 'file', accept: '.csv,.gz,.csv.gz,.geojson,.json', required: true, 'data-testid': 'import-file' });
  const mapSel = select(
    'mapping',
    [['', t('imp.mappingNone')], ...mappings.map((m) => [m.name, t('imp.mappingBuiltin', { name: m.name })] as [string, string]), [UPLOAD, t('imp.mappingUpload')]],
    mappings.length === 1 ? mappings[0].name : '',
    { 'data-testid': 'import-mapping' },
  );
  const tomlFile = h('input', { type: 'file', accept: '.toml,.txt', 'data-testid': 'import-mapping-file' });
  const tomlFileField = field(t('imp.mappingFile'), filePicker(tomlFile, t('imp.chooseFile'), t('imp.noFile')));
  const tomlText = h('textarea', { rows: 7, spellcheck: 'false', name: 'mapping_text', 'data-testid': 'import-mapping-text' });
  const modeAll = h('input', { type: 'radio', name: 'mode', value: 'all_or_nothing', checked: true, 'data-testid': 'mode-all' });
  const modeSkip = h('input', { type: 'radio', name: 'mode', value: 'skip_invalid', 'data-testid': 'mode-skip' });
  const dry = h('input', { type: 'checkbox', name: 'dry_run', 'data-testid': 'import-dry' });
  const submit = h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'import-submit' }, t('imp.submit'));
  const status = h('div', { class: 'form-status' });
  const report = h('div', { 'data-testid': 'import-report-box' });

  const syncMapping = () => {
    tomlFileField.hidden = mapSel.value !== UPLOAD;
    const m = mappings.find((x) => x.name === mapSel.value);
    if (m) tomlText.value = m.toml;
    else if (mapSel.value === '') tomlText.value = '';
  };
  mapSel.addEventListener('change', syncMapping);
  tomlFile.addEventListener('change', async () => {
    const f = tomlFile.files?.[0];
    if (f) tomlText.value = await f.text();
  });
  dry.addEventListener('change', () => (submit.textContent = dry.checked ? t('imp.submitCheck') : t('imp.submit')));
  syncMapping();

  const form = h(
    'form',
    { class: 'card import-form', 'data-testid': 'import-form' },
    h('div', { class: 'form-grid' }, field(t('common.territory'), terrSel), field(t('imp.file'), filePicker(fileIn, t('imp.chooseFile'), t('imp.noFile'))), field(t('imp.mapping'), mapSel), tomlFileField),
    field('TOML', tomlText),
    h(
      'fieldset',
      { class: 'mode' },
      h('legend', null, t('imp.mode')),
      h('label', null, modeAll, ' ', t('imp.mode.all_or_nothing')),
      h('label', null, modeSkip, ' ', t('imp.mode.skip_invalid')),
      h('label', { class: 'dry' }, dry, ' ', t('imp.dryRun')),
    ),
    status,
    h('div', { class: 'form-actions' }, submit),
  );
  replace(root, pageTitle(t('imp.title')), form, report);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(status);
    const file = fileIn.files?.[0];
    if (!file) return replace(status, message('error', t('imp.needFile')));
    const toml = tomlText.value.trim();
    if (!toml) return replace(status, message('error', t('imp.needMapping')));
    const fd = new FormData();
    fd.append('file', file, file.name);
    fd.append('mapping', toml);
    fd.append('mode', modeSkip.checked ? 'skip_invalid' : 'all_or_nothing');
    fd.append('dry_run', dry.checked ? 'true' : 'false');
    submit.disabled = true;
    replace(report, message('info', t('imp.running')));
    try {
      const res = await request(`/territories/${enc(terrSel.value)}/imports`, { method: 'POST', form: fd });
      const rep = (await res.json()) as ImportReport;
      replace(report, reportView(rep, terrSel.value));
      filters.territory = terrSel.value;
      forgetTerritories();
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.body && typeof e.body === 'object' && 'status' in e.body) {
        replace(report, reportView(e.body as ImportReport, terrSel.value));
      } else if (e instanceof ApiError && e.status === 400) {
        replace(report, message('error', t('imp.badMapping', { msg: e.message })));
      } else {
        replace(report, e instanceof ApiError && e.status === 403 ? errorBox(e) : message('error', errorText(e)));
      }
    } finally {
      submit.disabled = false;
    }
  });
}

const COUNTS: (keyof ImportReport)[] = ['rows_read', 'rows_valid', 'imported', 'identical_in_file', 'already_present', 'rejected', 'districts_created'];

function reportView(r: ImportReport, territory: string): HTMLElement {
  const kind = r.status === 'rejected' ? 'error' : r.status === 'already_imported' ? 'warn' : r.status === 'checked' ? 'info' : 'ok';
  const counts = h(
    'div',
    { class: 'counts' },
    COUNTS.filter((k) => typeof r[k] === 'number').map((k) => h('div', { class: 'count-box', 'data-count': k }, h('b', null, fmtInt(r[k] as number)), h('span', null, t(`imp.${k}` as Key)))),
    r.batch !== null && r.batch !== undefined ? h('div', { class: 'count-box' }, h('b', null, String(r.batch)), h('span', null, t('imp.batch'))) : null,
  );
  const rejects = r.rejects ?? [];
  const total = r.rejects_total ?? rejects.length;
  const rejectsPanel = rejects.length
    ? panel(
        `${t('imp.rejects')} (${fmtInt(total)})`,
        h(
          'div',
          null,
          total > rejects.length ? h('p', { class: 'hint' }, t('imp.rejectsMore', { n: fmtInt(rejects.length), total: fmtInt(total) })) : null,
          table(
            [
              { label: t('imp.line'), value: (x) => String(x.line), class: 'num' },
              { label: t('imp.field'), value: (x) => x.field },
              { label: t('imp.value'), value: (x) => h('code', { class: 'clip', title: x.value ?? '' }, x.value ?? '') },
              { label: t('imp.reason'), value: (x) => x.reason },
            ],
            rejects,
            { 'data-testid': 'rejects-table' },
          ),
        ),
        { csv: () => downloadCsv(`rejects_${fileSlug(territory, r.file)}.csv`, ['line', 'field', 'value', 'reason'], rejects.map((x) => [x.line, x.field, x.value, x.reason])) },
        'rejects',
      )
    : null;
  return h(
    'div',
    { class: 'import-report', 'data-testid': 'import-report', 'data-status': r.status },
    message(kind, h('b', null, t(`imp.status.${r.status}` as Key)), r.file ? ` — ${r.file}` : ''),
    counts,
    rejectsPanel,
  );
}
