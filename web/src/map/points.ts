// Decoder of the compact binary incident layer (GET /territories/{name}/points).
//
// Little-endian: "QPT1", u32 n, u32 m, m bytes of UTF-8 JSON metadata, zero
// padding to a multiple of 4, Float32 lon[n], Float32 lat[n], Uint32
// start_hour[n] (UTC hours since 1970-01-01), Uint8 category[n].

export interface PointsMeta {
  territory?: string;
  categories: string[];
  incidents?: number;
}

export interface Points {
  n: number;
  meta: PointsMeta;
  lon: Float32Array;
  lat: Float32Array;
  hour: Uint32Array;
  category: Uint8Array;
}

export class PointsFormatError extends Error {}

export function decodePoints(buf: ArrayBuffer): Points {
  if (buf.byteLength < 12) throw new PointsFormatError('too short');
  const bytes = new Uint8Array(buf);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== 'QPT1') throw new PointsFormatError(`bad magic ${JSON.stringify(magic)}`);
  const view = new DataView(buf);
  const n = view.getUint32(4, true);
  const m = view.getUint32(8, true);
  if (12 + m > buf.byteLength) throw new PointsFormatError('metadata past the end');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + m))) as PointsMeta;
  if (!Array.isArray(meta.categories)) meta.categories = [];
  const start = (12 + m + 3) & ~3;
  const need = start + n * (4 + 4 + 4 + 1);
  if (need > buf.byteLength) throw new PointsFormatError(`need ${need} bytes, have ${buf.byteLength}`);
  let off = start;
  const lon = readF32(buf, off, n);
  off += 4 * n;
  const lat = readF32(buf, off, n);
  off += 4 * n;
  const hour = readU32(buf, off, n);
  off += 4 * n;
  const category = new Uint8Array(buf, off, n);
  return { n, meta, lon, lat, hour, category };
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function readF32(buf: ArrayBuffer, off: number, n: number): Float32Array {
  if (littleEndianHost) return new Float32Array(buf, off, n);
  const v = new DataView(buf);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = v.getFloat32(off + 4 * i, true);
  return out;
}

function readU32(buf: ArrayBuffer, off: number, n: number): Uint32Array {
  if (littleEndianHost) return new Uint32Array(buf, off, n);
  const v = new DataView(buf);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = v.getUint32(off + 4 * i, true);
  return out;
}

/** Encoder, the mirror of decodePoints (tests and the dev proxy use it). */
export function encodePoints(meta: PointsMeta, lon: number[], lat: number[], hour: number[], category: number[]): ArrayBuffer {
  const n = lon.length;
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  const start = (12 + metaBytes.length + 3) & ~3;
  const buf = new ArrayBuffer(start + n * 13);
  const bytes = new Uint8Array(buf);
  bytes.set([0x51, 0x50, 0x54, 0x31], 0);
  const v = new DataView(buf);
  v.setUint32(4, n, true);
  v.setUint32(8, metaBytes.length, true);
  bytes.set(metaBytes, 12);
  for (let i = 0; i < n; i++) {
    v.setFloat32(start + 4 * i, lon[i], true);
    v.setFloat32(start + 4 * n + 4 * i, lat[i], true);
    v.setUint32(start + 8 * n + 4 * i, hour[i], true);
    v.setUint8(start + 12 * n + i, category[i]);
  }
  return buf;
}

/** Bounding box [minLon, minLat, maxLon, maxLat] of finite points, or null. */
export function pointsBounds(p: Points): [number, number, number, number] | null {
  let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
  for (let i = 0; i < p.n; i++) {
    const x = p.lon[i], y = p.lat[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < a) a = x;
    if (x > c) c = x;
    if (y < b) b = y;
    if (y > d) d = y;
  }
  return a <= c ? [a, b, c, d] : null;
}
