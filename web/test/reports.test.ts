import { describe, expect, it } from 'vitest';
import { councilPath, fallbackName, filenameFromDisposition, last12Months, lastQuarter, lastYear, localToday, periodOk, presetOf, presetPeriod, sizeText } from '../src/reports';

describe('council pack periods', () => {
  it('takes the last twelve whole months before the current one', () => {
    expect(last12Months('2026-12-05')).toEqual({ from: '2025-12-01', to: '2026-11-30' });
    expect(last12Months('2026-01-31')).toEqual({ from: '2025-01-01', to: '2025-12-31' });
    expect(last12Months('2024-03-01')).toEqual({ from: '2023-03-01', to: '2024-02-29' });
  });

  it('takes the last whole calendar quarter', () => {
    expect(lastQuarter('2026-12-05')).toEqual({ from: '2026-07-01', to: '2026-09-30' });
    expect(lastQuarter('2026-10-01')).toEqual({ from: '2026-07-01', to: '2026-09-30' });
    expect(lastQuarter('2026-09-30')).toEqual({ from: '2026-04-01', to: '2026-06-30' });
    expect(lastQuarter('2026-02-14')).toEqual({ from: '2025-10-01', to: '2025-12-31' });
    expect(lastQuarter('2026-04-01')).toEqual({ from: '2026-01-01', to: '2026-03-31' });
  });

  it('takes the last whole calendar year', () => {
    expect(lastYear('2026-12-05')).toEqual({ from: '2025-01-01', to: '2025-12-31' });
    expect(lastYear('2026-01-01')).toEqual({ from: '2025-01-01', to: '2025-12-31' });
  });

  it('recognises a preset period, and no other', () => {
    const today = '2026-12-05';
    expect(presetOf(presetPeriod('last12', today), today)).toBe('last12');
    expect(presetOf(presetPeriod('quarter', today), today)).toBe('quarter');
    expect(presetOf(presetPeriod('year', today), today)).toBe('year');
    expect(presetOf({ from: '2026-01-01', to: '2026-11-30' }, today)).toBeNull();
  });

  it('checks that a period has both ends in order', () => {
    expect(periodOk({ from: '2025-12-01', to: '2026-11-30' })).toBe(true);
    expect(periodOk({ from: '2026-11-30', to: '2026-11-30' })).toBe(true);
    expect(periodOk({ from: '2026-12-01', to: '2026-11-30' })).toBe(false);
    expect(periodOk({ from: '', to: '2026-11-30' })).toBe(false);
    expect(periodOk({ from: '2026-1-1', to: '2026-11-30' })).toBe(false);
  });

  it('reads today in the local calendar', () => {
    expect(localToday(new Date(2026, 0, 9, 23, 59))).toBe('2026-01-09');
  });
});

describe('council pack request and file', () => {
  const q = { territory: 'Нур-Султан / Astana', from: '2025-12-01', to: '2026-11-30', lang: 'kk' as const, format: 'pdf' as const };

  it('builds the request path', () => {
    expect(councilPath(q)).toBe('/territories/%D0%9D%D1%83%D1%80-%D0%A1%D1%83%D0%BB%D1%82%D0%B0%D0%BD%20%2F%20Astana/reports/council?from=2025-12-01&to=2026-11-30&lang=kk&format=pdf');
    expect(councilPath({ ...q, territory: 'Astana', lang: 'en', format: 'html' })).toBe('/territories/Astana/reports/council?from=2025-12-01&to=2026-11-30&lang=en&format=html');
  });

  it('names the file as the server would when no name comes with it', () => {
    expect(fallbackName({ ...q, territory: 'Astana' })).toBe('council-Astana-2026-11-30-kk.pdf');
    expect(fallbackName({ ...q, format: 'html' })).toBe('council-___-_________Astana-2026-11-30-kk.html');
  });

  it('takes the file name from Content-Disposition', () => {
    expect(filenameFromDisposition('attachment; filename="council-Astana-2026-11-30-kk.pdf"', 'x.pdf')).toBe('council-Astana-2026-11-30-kk.pdf');
    expect(filenameFromDisposition('attachment; filename=council.html', 'x')).toBe('council.html');
    expect(filenameFromDisposition("attachment; filename=\"plain.pdf\"; filename*=UTF-8''%D0%90%D1%81%D1%82%D0%B0%D0%BD%D0%B0.pdf", 'x')).toBe('Астана.pdf');
    expect(filenameFromDisposition('attachment; filename="a \\"b\\".pdf"', 'x')).toBe('a "b".pdf');
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', 'x')).toBe('passwd');
    expect(filenameFromDisposition("attachment; filename*=UTF-8''%E0%A4%A.pdf; filename=\"ok.pdf\"", 'x')).toBe('ok.pdf');
    expect(filenameFromDisposition('attachment', 'fallback.pdf')).toBe('fallback.pdf');
    expect(filenameFromDisposition('attachment; filename=""', 'fallback.pdf')).toBe('fallback.pdf');
    expect(filenameFromDisposition(null, 'fallback.pdf')).toBe('fallback.pdf');
  });

  it('writes the size in the language', () => {
    expect(sizeText(155_384, 'en')).toBe('152 KB');
    expect(sizeText(100, 'ru')).toBe('1 КБ');
    expect(sizeText(2_621_440, 'ru')).toBe('2,5 МБ');
    expect(sizeText(2_621_440, 'en')).toBe('2.5 MB');
  });
});
