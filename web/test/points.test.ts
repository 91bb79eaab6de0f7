import { describe, expect, it } from 'vitest';
import { decodePoints, encodePoints, pointsBounds, PointsFormatError } from '../src/map/points';

describe('binary point layer', () => {
  it('round-trips through encode / decode', () => {
    const meta = { territory: 'Toronto', categories: ['assault', 'robbery'], incidents: 3 };
    const buf = encodePoints(meta, [-79.4, -79.3, -79.5], [43.7, 43.6, 43.8], [1, 400000, 4294967295], [0, 1, 1]);
    const p = decodePoints(buf);
    expect(p.n).toBe(3);
    expect(p.meta).toEqual(meta);
    expect(Array.from(p.lon)).toEqual([-79.4, -79.3, -79.5].map(Math.fround));
    expect(Array.from(p.lat)).toEqual([43.7, 43.6, 43.8].map(Math.fround));
    expect(Array.from(p.hour)).toEqual([1, 400000, 4294967295]);
    expect(Array.from(p.category)).toEqual([0, 1, 1]);
    expect(pointsBounds(p)).toEqual([Math.fround(-79.5), Math.fround(43.6), Math.fround(-79.3), Math.fround(43.8)]);
  });

  it('aligns the arrays to 4 bytes after the metadata, whatever its length', () => {
    for (let pad = 0; pad < 5; pad++) {
      const meta = { categories: ['theft'], territory: 'x'.repeat(pad) };
      const buf = encodePoints(meta, [71.4], [51.1], [7], [0]);
      const bytes = new Uint8Array(buf);
      const m = new DataView(buf).getUint32(8, true);
      const start = (12 + m + 3) & ~3;
      expect(start % 4).toBe(0);
      for (let i = 12 + m; i < start; i++) expect(bytes[i]).toBe(0);
      const p = decodePoints(buf);
      expect(p.lon[0]).toBeCloseTo(71.4, 5);
      expect(p.meta.territory).toBe('x'.repeat(pad));
    }
  });

  it('decodes a hand-made little-endian buffer (the server layout)', () => {
    const json = new TextEncoder().encode('{"categories":["a","b"],"incidents":2}'); // 38 bytes → pad 2
    const start = 12 + json.length + 2;
    const buf = new ArrayBuffer(start + 2 * 13);
    const v = new DataView(buf);
    new Uint8Array(buf).set([0x51, 0x50, 0x54, 0x31]);
    v.setUint32(4, 2, true);
    v.setUint32(8, json.length, true);
    new Uint8Array(buf).set(json, 12);
    v.setFloat32(start, 1.5, true);
    v.setFloat32(start + 4, -2.5, true);
    v.setFloat32(start + 8, 10, true);
    v.setFloat32(start + 12, 20, true);
    v.setUint32(start + 16, 100, true);
    v.setUint32(start + 20, 200, true);
    v.setUint8(start + 24, 1);
    v.setUint8(start + 25, 0);
    const p = decodePoints(buf);
    expect(Array.from(p.lon)).toEqual([1.5, -2.5]);
    expect(Array.from(p.lat)).toEqual([10, 20]);
    expect(Array.from(p.hour)).toEqual([100, 200]);
    expect(Array.from(p.category)).toEqual([1, 0]);
  });

  it('handles zero points', () => {
    const p = decodePoints(encodePoints({ categories: [] }, [], [], [], []));
    expect(p.n).toBe(0);
    expect(pointsBounds(p)).toBeNull();
  });

  it('rejects a wrong magic and truncated data', () => {
    const good = encodePoints({ categories: ['a'] }, [1, 2], [3, 4], [5, 6], [0, 0]);
    const bad = good.slice(0);
    new Uint8Array(bad)[0] = 0x58;
    expect(() => decodePoints(bad)).toThrow(PointsFormatError);
    expect(() => decodePoints(good.slice(0, good.byteLength - 1))).toThrow(PointsFormatError);
    expect(() => decodePoints(new ArrayBuffer(4))).toThrow(PointsFormatError);
  });
});

import { pointBudget, shuffledOrder } from '../src/map/pointlayer';

describe('level of detail of the point layer', () => {
  it('orders every point exactly once, the same way every time', () => {
    const a = shuffledOrder(1000);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(shuffledOrder(1000))).toEqual(Array.from(a));
    expect(Array.from(a.slice(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('draws everything from street scale in, a sample further out', () => {
    expect(pointBudget(12)).toBe(Infinity);
    expect(pointBudget(9)).toBeLessThan(pointBudget(10));
    expect(pointBudget(10)).toBeLessThan(pointBudget(11));
  });
  it('a prefix of the order is an even sample', () => {
    // The first tenth of 100,000 points falls about evenly into ten blocks of the original order.
    const order = shuffledOrder(100_000);
    const blocks = new Array(10).fill(0);
    for (const i of order.slice(0, 10_000)) blocks[Math.floor(i / 10_000)]++;
    for (const b of blocks) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });
});
