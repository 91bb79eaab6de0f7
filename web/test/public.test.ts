import { describe, expect, it } from 'vitest';
import { DICTS, type Key } from '../src/i18n';
import {
  cellClasses,
  cellColor,
  classLabel,
  disclosureSafe,
  downloadLinks,
  fmtCount,
  fmtDate,
  knownTotal,
  partialMonths,
  periodDays,
  periodError,
  publicPath,
  publicUrl,
  shownCount,
  sortRows,
  withheldCellsNote,
  withheldSum,
} from '../src/public';

describe('public page: URLs of the open data', () => {
  it('builds the paths under /api/v1/public, leaving out an empty period (the server default)', () => {
    expect(publicPath('Astana', 'summary')).toBe('/public/territories/Astana/summary');
    expect(publicPath('Astana', 'summary', { from: '', to: '' })).toBe('/public/territories/Astana/summary');
    expect(publicPath('Astana', 'cells', { from: '2025-01-01', to: '2025-12-31' })).toBe('/public/territories/Astana/cells?from=2025-01-01&to=2025-12-31');
    expect(publicPath('Astana', 'cells', { to: '2025-12-31' }, 'csv')).toBe('/public/territories/Astana/cells?to=2025-12-31&format=csv');
    expect(publicPath('Astana', 'summary', {}, 'json')).toBe('/public/territories/Astana/summary');
  });

  it('escapes territory names', () => {
    expect(publicPath('Нур-Султан 2/б', 'summary')).toBe(`/public/territories/${encodeURIComponent('Нур-Султан 2/б')}/summary`);
    expect(publicUrl('A&B', 'cells', {}, 'geojson')).toBe('/api/v1/public/territories/A%26B/cells?format=geojson');
  });

  it('offers the three files with the period in their links and names', () => {
    const links = downloadLinks('Astana', { from: '2025-12-05', to: '2026-12-04' });
    expect(links.map((l) => l.key)).toEqual(['summaryCsv', 'cellsGeojson', 'cellsCsv']);
    expect(links[0].href).toBe('/api/v1/public/territories/Astana/summary?from=2025-12-05&to=2026-12-04&format=csv');
    expect(links[1].href).toBe('/api/v1/public/territories/Astana/cells?from=2025-12-05&to=2026-12-04&format=geojson');
    expect(links[2].href).toBe('/api/v1/public/territories/Astana/cells?from=2025-12-05&to=2026-12-04&format=csv');
    expect(links.map((l) => l.file)).toEqual([
      'qalqan-open_Astana_2025-12-05_2026-12-04_summary.csv',
      'qalqan-open_Astana_2025-12-05_2026-12-04_cells.geojson',
      'qalqan-open_Astana_2025-12-05_2026-12-04_cells.csv',
    ]);
    expect(downloadLinks('New York/2', { from: 'a', to: 'b' })[0].file).toBe('qalqan-open_New-York-2_a_b_summary.csv');
  });
});

describe('public page: withheld counts', () => {
  it('shows 0 and counts from the threshold up, never 1…4', () => {
    expect(shownCount(0)).toBe(0);
    expect(shownCount(5)).toBe(5);
    expect(shownCount(1234)).toBe(1234);
    for (const v of [1, 2, 3, 4]) expect(shownCount(v)).toBeNull();
    expect(shownCount(null)).toBeNull();
    expect(shownCount(undefined)).toBeNull();
    expect(shownCount(Number.NaN)).toBeNull();
    expect(shownCount(7, 10)).toBeNull();
  });

  it('writes a withheld count in each language', () => {
    expect(fmtCount(null, 'ru')).toBe('скрыто');
    expect(fmtCount(null, 'kk')).toBe('жасырылған');
    expect(fmtCount(null, 'en')).toBe('withheld');
    expect(fmtCount(3, 'en')).toBe('withheld');
    expect(fmtCount(0, 'ru')).toBe('0');
    expect(fmtCount(1234, 'en')).toBe('1,234');
    expect(fmtCount(1234, 'ru').replace(/\s/g, ' ')).toBe('1 234');
  });

  it('checks that a table shows no count under the threshold', () => {
    expect(disclosureSafe([0, 5, 120, null])).toBe(true);
    expect(disclosureSafe([0, 4])).toBe(false);
    expect(disclosureSafe([])).toBe(true);
  });

  it('knows the total: published, or 0 when every month is a published zero', () => {
    const months = (...c: (number | null)[]) => c.map((count, i) => ({ month: `2025-0${i + 1}`, count }));
    expect(knownTotal({ total: 4114, by_month: months(4000, 114), threshold: 5 })).toBe(4114);
    expect(knownTotal({ total: null, by_month: months(0, 0), threshold: 5 })).toBe(0);
    expect(knownTotal({ total: null, by_month: months(null, null), threshold: 5 })).toBeNull();
    expect(knownTotal({ total: null, by_month: [], threshold: 5 })).toBeNull();
    expect(knownTotal({ total: 3, by_month: months(3), threshold: 5 })).toBeNull();
  });

  it('adds up what the withheld rows hold from the published figures', () => {
    expect(withheldSum([{ count: 12 }, { count: null }, { count: null }, { count: 25 }], 46)).toBe(9);
    expect(withheldSum([{ count: 12 }, { count: 25 }], 37)).toBeNull();
    expect(withheldSum([{ count: null }, { count: 25 }], null)).toBeNull();
  });

  it('sorts published counts first, largest first, then the withheld ones by name', () => {
    const rows = [
      { k: 'b', count: null },
      { k: 'x', count: 10 },
      { k: 'a', count: null },
      { k: 'c', count: 50 },
      { k: 'd', count: 10 },
      { k: 'z', count: 0 },
    ];
    expect(sortRows(rows, (r) => r.k).map((r) => r.k)).toEqual(['c', 'd', 'x', 'z', 'a', 'b']);
  });
});

describe('public page: periods', () => {
  it('counts the days of a period', () => {
    expect(periodDays('2025-12-05', '2026-12-04')).toBe(365);
    expect(periodDays('2024-01-01', '2024-12-31')).toBe(366);
    expect(periodDays('2025-01-02', '2025-01-01')).toBe(0);
    expect(periodDays('', '2025-01-01')).toBe(0);
  });

  it('names the months covered only in part', () => {
    expect(partialMonths('2025-12-05', '2026-12-04')).toEqual(['2025-12', '2026-12']);
    expect(partialMonths('2025-01-01', '2025-12-31')).toEqual([]);
    expect(partialMonths('2024-02-01', '2024-02-29')).toEqual([]);
    expect(partialMonths('2025-02-01', '2025-02-27')).toEqual(['2025-02']);
    expect(partialMonths('2025-03-10', '2025-03-20')).toEqual(['2025-03']);
    expect(partialMonths('x', 'y')).toEqual([]);
  });

  it('refuses a period that runs backwards, accepts an open one', () => {
    expect(periodError('2025-02-01', '2025-01-01')).toBe('order');
    expect(periodError('2025-01-01', '2025-01-01')).toBeNull();
    expect(periodError('', '')).toBeNull();
    expect(periodError('', '2025-01-01')).toBeNull();
  });

  it('writes dates as each language does', () => {
    expect(fmtDate('2025-12-05', 'ru')).toBe('05.12.2025');
    expect(fmtDate('2025-12-05', 'kk')).toBe('05.12.2025');
    expect(fmtDate('2025-12-05', 'en')).toBe('05/12/2025');
    expect(fmtDate('soon', 'en')).toBe('soon');
  });
});

describe('public page: the map of cells', () => {
  it('colours the cells in classes from the smallest published count up', () => {
    const counts = [5, 5, 6, 7, 8, 9, 12, 15, 20, 40, 51, 120];
    const classes = cellClasses(counts);
    expect(classes.length).toBeGreaterThan(1);
    expect(classes[0].from).toBe(5);
    expect(classes[classes.length - 1].to).toBe(120);
    for (let i = 1; i < classes.length; i++) expect(classes[i].from).toBe(classes[i - 1].to + 1);
    for (const c of counts) expect(classes.some((k) => c >= k.from && c <= k.to)).toBe(true);
    expect(cellColor(5, classes)).toBe(classes[0].color);
    expect(cellColor(120, classes)).toBe(classes[classes.length - 1].color);
    expect(cellColor(999, classes)).toBe(classes[classes.length - 1].color);
    expect(cellClasses([])).toEqual([]);
    const one = cellClasses([8, 8, 8]);
    expect(one).toHaveLength(1);
    expect(classLabel(one[0], 'en')).toBe('8');
    expect(classLabel({ from: 5, to: 1200, color: '#000' }, 'en')).toBe('5–1,200');
  });

  it('explains the withheld cells in each language', () => {
    expect(withheldCellsNote({ withheld_cells: 671, withheld_incidents: 1087 }, 'en')).toBe(
      '671 cells are not shown; together they hold 1,087 incidents. Each has fewer than 5, or is withheld as well so that a withheld count cannot be worked out.',
    );
    expect(withheldCellsNote({ withheld_cells: 671, withheld_incidents: 1087 }, 'ru')).toMatch(/^Не показано ячеек: 671, в них вместе происшествий: 1\s087\./);
    expect(withheldCellsNote({ withheld_cells: 1, withheld_incidents: null }, 'kk')).toMatch(/^Көрсетілмеген ұяшықтар: 1;/);
    expect(withheldCellsNote({ withheld_cells: 0, withheld_incidents: null }, 'en')).toBe('Every cell with incidents is shown.');
  });

  it('has every text of the page in the three languages, with correct Kazakh letters', () => {
    const keys = Object.keys(DICTS.ru).filter((k) => k.startsWith('pub.') || k === 'nav.public' || k === 'login.public') as Key[];
    expect(keys.length).toBeGreaterThan(30);
    for (const k of keys) {
      expect(DICTS.kk[k], k).toBeTruthy();
      expect(DICTS.en[k], k).toBeTruthy();
      // Kazakh words are written with Kazakh letters, not look-alike Latin ones.
      expect(/[A-Za-z]/.test(DICTS.kk[k].replace(/\{\w+\}|qalqan territory publish|CSV|GeoJSON|withheld/g, '')), k).toBe(false);
    }
    expect(DICTS.ru['nav.public']).toBe('Открытые данные');
    expect(DICTS.kk['nav.public']).toBe('Ашық деректер');
    expect(DICTS.en['nav.public']).toBe('Open data');
  });
});
