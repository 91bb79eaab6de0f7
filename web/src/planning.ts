// Cameras and the planning page: owner / status / link names, a camera's properties in words,
// map colours, coverage sentences and tables, CSV rows, the register upload's format and result.
// Pure functions of the server's JSON and a language (no DOM), so vitest can load them.

import type { ExpressionSpecification } from 'maplibre-gl';
import type { CameraCollection, CameraCoverage, CameraProps, CameraUploadRejected, CameraUploadResult } from './api';
import { fmtPct } from './forecast';
import { fmtDec, fmtInt, lang, tIn, type Key, type Lang } from './i18n';

export const OWNERS = ['street', 'residential', 'shop', 'vehicle', 'stop', 'other'] as const;
export const STATUSES = ['working', 'faulty', 'planned', 'dismantled'] as const;
export const LINKS = ['connected', 'standalone'] as const;

/** Sector colours by owner (Okabe–Ito, distinguishable with the common colour-vision deficiencies). */
export const OWNER_COLORS: Record<(typeof OWNERS)[number], string> = {
  street: '#0072b2',
  residential: '#009e73',
  shop: '#e69f00',
  vehicle: '#cc79a7',
  stop: '#d55e00',
  other: '#7a5c2e',
};
/** Cameras that do not work (faulty, planned, dismantled): grey with a dashed outline. */
export const INACTIVE_COLOR = '#8a939c';

const has = <T extends string>(list: readonly T[], x: unknown): x is T => typeof x === 'string' && (list as readonly string[]).includes(x);

/** An owner type in words; unknown codes as they are. */
export function ownerName(code: string | null | undefined, l: Lang = lang()): string {
  return has(OWNERS, code) ? tIn(l, `cam.owner.${code}` as Key) : String(code ?? tIn(l, 'common.none'));
}

export function statusName(code: string | null | undefined, l: Lang = lang()): string {
  return has(STATUSES, code) ? tIn(l, `cam.status.${code}` as Key) : String(code ?? tIn(l, 'common.none'));
}

export function linkName(code: string | null | undefined, l: Lang = lang()): string {
  return has(LINKS, code) ? tIn(l, `cam.link.${code}` as Key) : String(code ?? tIn(l, 'common.none'));
}

export function ownerColor(code: string | null | undefined): string {
  return has(OWNERS, code) ? OWNER_COLORS[code] : OWNER_COLORS.other;
}

export function isWorking(status: unknown): boolean {
  return status === 'working';
}

/** MapLibre expression: the owner's colour for a working camera, grey for the others. */
export function cameraColorExpression(): ExpressionSpecification {
  const match: unknown[] = ['match', ['get', 'owner']];
  for (const o of OWNERS) match.push(o, OWNER_COLORS[o]);
  match.push(OWNER_COLORS.other);
  return ['case', ['==', ['get', 'status'], 'working'], match as ExpressionSpecification, INACTIVE_COLOR];
}

/** The compass direction of a bearing in words ("north-east"). */
export function compass(bearing: number, l: Lang = lang()): string {
  const k = ((Math.round((((bearing % 360) + 360) % 360) / 45) % 8) + 8) % 8;
  return tIn(l, `cam.dir.${k}` as Key);
}

/** The properties of a map feature back to a camera (MapLibre may hand numbers back as strings). */
export function cameraFromProps(p: Record<string, unknown>): CameraProps {
  const num = (v: unknown, d: number) => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
  return {
    id: String(p.id ?? ''),
    lat: num(p.lat, NaN),
    lon: num(p.lon, NaN),
    bearing: num(p.bearing, 0),
    fov: num(p.fov, 90),
    range: num(p.range, 30),
    owner: String(p.owner ?? 'other') as CameraProps['owner'],
    link: String(p.link ?? 'standalone') as CameraProps['link'],
    archive_days: num(p.archive_days, 30),
    status: String(p.status ?? 'working') as CameraProps['status'],
  };
}

/** The lines of a camera's popup: [label, value]. */
export function cameraLines(c: CameraProps, l: Lang = lang()): [string, string][] {
  const allRound = c.fov >= 360;
  const lines: [string, string][] = [
    [tIn(l, 'cam.status'), statusName(c.status, l)],
    [tIn(l, 'cam.owner'), ownerName(c.owner, l)],
    [tIn(l, 'cam.link'), linkName(c.link, l)],
    [tIn(l, 'cam.fov'), allRound ? `360° (${tIn(l, 'cam.allRound')})` : `${fmtDec(c.fov, 0, 1, l)}°`],
  ];
  if (!allRound) lines.push([tIn(l, 'cam.bearing'), `${fmtDec(c.bearing, 0, 1, l)}° (${compass(c.bearing, l)})`]);
  lines.push(
    [tIn(l, 'cam.range'), tIn(l, 'nr.metres', { n: fmtDec(c.range, 0, 1, l) })],
    [tIn(l, 'cam.archive'), fmtInt(c.archive_days, l)],
    [tIn(l, 'cam.position'), Number.isFinite(c.lat) && Number.isFinite(c.lon) ? `${fmtDec(c.lat, 5, 5, l)}; ${fmtDec(c.lon, 5, 5, l)}` : tIn(l, 'common.none')],
  );
  return lines;
}

/** The camera positions as points (for the small circles on the map). */
export function cameraPositions(fc: Pick<CameraCollection, 'features'>): GeoJSON.FeatureCollection<GeoJSON.Point, CameraProps> {
  const features: GeoJSON.Feature<GeoJSON.Point, CameraProps>[] = [];
  for (const f of fc.features) {
    const p = f.properties;
    if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lon)) continue;
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: p });
  }
  return { type: 'FeatureCollection', features };
}

/** What the map legend needs: the owners of the working cameras, and whether there are inactive, connected, standalone ones. */
export function cameraLegend(fc: Pick<CameraCollection, 'features'>): { owners: string[]; inactive: boolean; connected: boolean; standalone: boolean } {
  const owners = new Set<string>();
  let inactive = false, connected = false, standalone = false;
  for (const f of fc.features) {
    const p = f.properties;
    if (!p) continue;
    if (isWorking(p.status)) owners.add(has(OWNERS, p.owner) ? p.owner : 'other');
    else inactive = true;
    if (p.link === 'connected') connected = true;
    else standalone = true;
  }
  return { owners: OWNERS.filter((o) => owners.has(o)), inactive, connected, standalone };
}

// ---- Coverage ----

/** "640 of 5,000 (13%)"; the share is computed when the server gives none but there is something to divide. */
export function nOfM(n: number, m: number, share: number | null | undefined, l: Lang = lang()): string {
  const s = share ?? (m > 0 ? n / m : null);
  return tIn(l, 'cov.nOfMPct', { n: fmtInt(n, l), m: fmtInt(m, l), pct: fmtPct(s, l) });
}

export interface HeadlineItem {
  key: 'incidents' | 'hotspots' | 'cameras';
  label: string;
  /** The share in percent ("13 %"), or the count when there is no share. */
  value: string;
  /** "640 of 5 000". */
  detail: string;
}

/** The three headline figures: incidents in view, hot-spot cells seen, cameras working. */
export function headline(cov: CameraCoverage, l: Lang = lang()): HeadlineItem[] {
  const inc = cov.incidents;
  const items: HeadlineItem[] = [
    { key: 'incidents', label: tIn(l, 'cov.incidents'), value: fmtPct(inc.share ?? (inc.total > 0 ? inc.covered / inc.total : null), l), detail: tIn(l, 'cov.nOfM', { n: fmtInt(inc.covered, l), m: fmtInt(inc.total, l) }) },
  ];
  const hot = cov.hotspot_cells;
  items.push(
    hot
      ? { key: 'hotspots', label: tIn(l, 'cov.hotspots'), value: fmtPct(hot.share ?? (hot.cells > 0 ? hot.covered / hot.cells : null), l), detail: tIn(l, 'cov.nOfM', { n: fmtInt(hot.covered, l), m: fmtInt(hot.cells, l) }) }
      : { key: 'hotspots', label: tIn(l, 'cov.hotspots'), value: tIn(l, 'common.none'), detail: tIn(l, 'cov.hotspotsNA') },
  );
  const cams = cov.cameras;
  items.push({
    key: 'cameras',
    label: tIn(l, 'cov.cameras'),
    value: tIn(l, 'cov.nOfM', { n: fmtInt(cams.working, l), m: fmtInt(cams.registered, l) }),
    detail: tIn(l, 'cov.camerasDetail', { n: fmtInt(Math.max(0, cams.registered - cams.working), l) }),
  });
  return items;
}

/** The coverage in sentences, for the page and the notes under the chart. */
export function coverageSentences(cov: CameraCoverage, l: Lang = lang()): string[] {
  const out: string[] = [];
  const inc = cov.incidents;
  out.push(inc.total > 0 ? tIn(l, 'cov.sIncidents', { n: fmtInt(inc.covered, l), m: fmtInt(inc.total, l), pct: fmtPct(inc.share ?? inc.covered / inc.total, l) }) : tIn(l, 'cov.sNoIncidents'));
  const hot = cov.hotspot_cells;
  if (!hot) out.push(tIn(l, 'cov.sHotspotsNA'));
  else if (hot.cells === 0) out.push(tIn(l, 'cov.sNoHotspots', { cell: fmtInt(hot.cell_metres, l) }));
  else out.push(tIn(l, 'cov.sHotspots', { n: fmtInt(hot.covered, l), m: fmtInt(hot.cells, l), pct: fmtPct(hot.share ?? hot.covered / hot.cells, l), cell: fmtInt(hot.cell_metres, l) }));
  out.push(tIn(l, 'cov.sCameras', { n: fmtInt(cov.cameras.working, l), m: fmtInt(cov.cameras.registered, l) }));
  return out;
}

export type CoverageDistrict = CameraCoverage['districts'][number];

/** Districts by incidents (most first), then by name; the incidents outside districts last among equals. */
export function sortCoverageDistricts(ds: readonly CoverageDistrict[]): CoverageDistrict[] {
  return [...ds].sort((a, b) => b.incidents - a.incidents || (a.district === null ? 1 : b.district === null ? -1 : a.district.localeCompare(b.district)));
}

export function coverageDistrictLabel(d: Pick<CoverageDistrict, 'district'>, l: Lang = lang()): string {
  return d.district ?? tIn(l, 'cov.noDistrict');
}

/** A district's share in view: the server's, or covered ÷ incidents; null when it has no incidents. */
export function districtShare(d: CoverageDistrict): number | null {
  if (d.share !== null && d.share !== undefined && Number.isFinite(d.share)) return d.share;
  return d.incidents > 0 ? d.covered / d.incidents : null;
}

export const COVERAGE_CSV_HEADER = ['district', 'incidents', 'covered', 'share'];

/** The district table as CSV rows (sorted as on the page; the share empty when there is nothing to divide). */
export function coverageCsvRows(cov: Pick<CameraCoverage, 'districts'>): unknown[][] {
  return sortCoverageDistricts(cov.districts ?? []).map((d) => [d.district ?? '', d.incidents, d.covered, districtShare(d)]);
}

export type CoverageOwner = CameraCoverage['owners'][number];

/** Owners by incidents seen, then by cameras, then in the register's order. */
export function sortOwners(os: readonly CoverageOwner[]): CoverageOwner[] {
  const rank = (o: string) => {
    const i = (OWNERS as readonly string[]).indexOf(o);
    return i < 0 ? OWNERS.length : i;
  };
  return [...os].sort((a, b) => b.incidents_seen - a.incidents_seen || b.cameras - a.cameras || rank(a.owner) - rank(b.owner) || a.owner.localeCompare(b.owner));
}

/** Incidents seen per working camera of an owner ("12,5"); "—" without cameras. */
export function perCamera(o: CoverageOwner, l: Lang = lang()): string {
  return o.cameras > 0 ? fmtDec(o.incidents_seen / o.cameras, 0, 1, l) : tIn(l, 'common.none');
}

/** The first `n` cameras by incidents seen (ties by id). */
export function topCameras(cov: Pick<CameraCoverage, 'per_camera'>, n = 10): CameraCoverage['per_camera'] {
  return [...(cov.per_camera ?? [])].sort((a, b) => b.incidents_seen - a.incidents_seen || a.id.localeCompare(b.id, 'en', { numeric: true })).slice(0, n);
}

export const CAMERAS_CSV_HEADER = ['camera', 'owner', 'incidents_seen'];

export function camerasCsvRows(cov: Pick<CameraCoverage, 'per_camera'>): unknown[][] {
  return topCameras(cov, Infinity).map((c) => [c.id, c.owner, c.incidents_seen]);
}

// ---- The register upload ----

/** The register's format from the file name: .csv → csv, .geojson / .json → geojson, else null. */
export function registerFormat(name: string): 'csv' | 'geojson' | null {
  const n = name.trim().toLowerCase();
  if (n.endsWith('.csv')) return 'csv';
  if (n.endsWith('.geojson') || n.endsWith('.json')) return 'geojson';
  return null;
}

export function registerContentType(format: 'csv' | 'geojson'): string {
  return format === 'csv' ? 'text/csv' : 'application/geo+json';
}

/** "Register uploaded. Cameras in the file: 3; added: 2; updated: 1." */
export function uploadResultText(r: CameraUploadResult, l: Lang = lang()): string {
  return tIn(l, 'reg.done', { n: fmtInt(r.cameras, l), added: fmtInt(r.added, l), updated: fmtInt(r.updated, l) });
}

/** Whether a 422 body is the register's reject list. */
export function isRejected(body: unknown): body is CameraUploadRejected {
  return !!body && typeof body === 'object' && Array.isArray((body as { rejects?: unknown }).rejects);
}

/** The number of invalid rows: the server's message says it ("2 invalid row(s); …"; the list stops at 1000). */
export function rejectTotal(body: CameraUploadRejected): number {
  const m = /^\s*(\d+)\s+invalid/i.exec(body.error ?? '');
  return m ? Math.max(Number(m[1]), body.rejects.length) : body.rejects.length;
}

export const REJECTS_CSV_HEADER = ['line', 'field', 'reason'];

export function rejectsCsvRows(body: CameraUploadRejected): unknown[][] {
  return body.rejects.map((r) => [r.line, r.field, r.reason]);
}
