import { describe, expect, it } from 'vitest';
import { csvField, fileSlug, toCsv } from '../src/export';

describe('CSV export', () => {
  it('leaves plain fields alone', () => {
    expect(csvField('Toronto')).toBe('Toronto');
    expect(csvField(42)).toBe('42');
    expect(csvField(-3.5)).toBe('-3.5');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(NaN)).toBe('');
  });

  it('quotes separators, quotes and line breaks', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('a;b')).toBe('"a;b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('defuses spreadsheet formulas in text cells but not negative numbers', () => {
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvField('+7 701')).toBe("'+7 701");
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField('-x')).toBe("'-x");
    expect(csvField(-12)).toBe('-12');
    expect(csvField('=a,b')).toBe(`"'=a,b"`);
  });

  it('keeps Cyrillic and Kazakh text', () => {
    expect(csvField('Есиль, район')).toBe('"Есиль, район"');
    expect(csvField('Сарыарқа')).toBe('Сарыарқа');
  });

  it('builds CRLF lines with a header', () => {
    expect(toCsv(['district', 'count'], [['Алматы', 3], ['A "B"', null]])).toBe('district,count\r\nАлматы,3\r\n"A ""B""",\r\n');
  });

  it('makes safe file names', () => {
    expect(fileSlug('Toronto', '2021-01-01', '', null, 'a/b c')).toBe('Toronto_2021-01-01_a-b-c');
    expect(fileSlug('Астана')).toBe('Астана');
  });
});
