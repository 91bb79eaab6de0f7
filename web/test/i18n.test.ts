import { describe, expect, it } from 'vitest';
import { CATEGORY_CODES, DICTS, format, hasKey } from '../src/i18n';
import { GI_CLASSES, LISA_CLUSTERS } from '../src/map/colors';

const langs = Object.keys(DICTS) as (keyof typeof DICTS)[];
const ruKeys = Object.keys(DICTS.ru).sort();

describe('i18n', () => {
  it('has the three languages', () => {
    expect(langs.sort()).toEqual(['en', 'kk', 'ru']);
  });

  it.each(langs)('%s has exactly the keys of ru, none empty', (l) => {
    expect(Object.keys(DICTS[l]).sort()).toEqual(ruKeys);
    for (const k of ruKeys) expect(DICTS[l][k as keyof (typeof DICTS)['ru']].trim(), `${l}:${k}`).not.toBe('');
  });

  it.each(langs)('%s keeps the placeholders of ru', (l) => {
    for (const k of ruKeys) {
      const want = (DICTS.ru[k as keyof (typeof DICTS)['ru']].match(/\{\w+\}/g) ?? []).sort();
      const got = (DICTS[l][k as keyof (typeof DICTS)['ru']].match(/\{\w+\}/g) ?? []).sort();
      expect(got, `${l}:${k}`).toEqual(want);
    }
  });

  it('kk and en are translated, not copies of ru', () => {
    const cyr = /[а-яё]/i;
    const enCyr = ruKeys.filter((k) => cyr.test(DICTS.en[k as keyof (typeof DICTS)['ru']]));
    expect(enCyr).toEqual([]);
    // Kazakh shares words with Russian, but most strings must differ.
    const same = ruKeys.filter((k) => DICTS.kk[k as keyof (typeof DICTS)['ru']] === DICTS.ru[k as keyof (typeof DICTS)['ru']] && cyr.test(DICTS.ru[k as keyof (typeof DICTS)['ru']]));
    expect(same.length).toBeLessThan(ruKeys.length * 0.1);
  });

  it('translates every category code, Gi* class, LISA cluster, role and weekday', () => {
    for (const c of CATEGORY_CODES) expect(hasKey(`cat.${c}`), c).toBe(true);
    for (const g of GI_CLASSES) expect(hasKey(`gi.${g.key}`), g.key).toBe(true);
    for (const l of LISA_CLUSTERS) expect(hasKey(`lisa.${l.key}`), l.key).toBe(true);
    for (const r of ['administrator', 'analyst', 'commander', 'district_inspector', 'agency_executor', 'viewer']) expect(hasKey(`role.${r}`), r).toBe(true);
    for (let i = 0; i < 7; i++) expect(hasKey(`wd.${i}`)).toBe(true);
  });

  it('formats placeholders', () => {
    expect(format('{a} of {b}', { a: 1, b: 'x' })).toBe('1 of x');
    expect(format('{missing}', {})).toBe('{missing}');
  });
});
