import { describe, expect, it } from 'vitest';
import type { CameraCollection, CameraCoverage, CameraProps } from '../src/api';
import { toCsv } from '../src/export';
import { DICTS, hasKey } from '../src/i18n';
import {
  CAMERAS_CSV_HEADER,
  COVERAGE_CSV_HEADER,
  INACTIVE_COLOR,
  LINKS,
  OWNERS,
  OWNER_COLORS,
  REJECTS_CSV_HEADER,
  STATUSES,
  cameraColorExpression,
  cameraFromProps,
  cameraLegend,
  cameraLines,
  cameraPositions,
  camerasCsvRows,
  compass,
  coverageCsvRows,
  coverageDistrictLabel,
  coverageSentences,
  districtShare,
  headline,
  isRejected,
  isWorking,
  linkName,
  nOfM,
  ownerColor,
  ownerName,
  perCamera,
  registerContentType,
  registerFormat,
  rejectTotal,
  rejectsCsvRows,
  sortCoverageDistricts,
  sortOwners,
  statusName,
  topCameras,
  uploadResultText,
} from '../src/planning';

/** Locale output uses (narrow) no-break spaces: compare with plain spaces. */
const sp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/** The example answer of the contract. */
function coverage(over: Partial<CameraCoverage> = {}): CameraCoverage {
  return {
    cameras: { registered: 12, working: 10 },
    incidents: { total: 5000, covered: 640, share: 0.128 },
    districts: [
      { district: 'Yesil', incidents: 900, covered: 120, share: 0.133 },
      { district: null, incidents: 40, covered: 0, share: 0 },
      { district: 'Almaty', incidents: 2100, covered: 400, share: 0.1905 },
      { district: 'Baikonur', incidents: 900, covered: 20, share: null },
      { district: 'Empty', incidents: 0, covered: 0, share: null },
    ],
    owners: [
      { owner: 'shop', cameras: 4, incidents_seen: 200 },
      { owner: 'street', cameras: 5, incidents_seen: 500 },
      { owner: 'stop', cameras: 1, incidents_seen: 200 },
    ],
    hotspot_cells: { cells: 40, covered: 9, share: 0.225, cell_metres: 250 },
    per_camera: [
      { id: 'K2', owner: 'shop', incidents_seen: 40 },
      { id: 'K1', owner: 'street', incidents_seen: 310 },
      { id: 'K10', owner: 'street', incidents_seen: 40 },
      { id: 'K3', owner: 'stop', incidents_seen: 200 },
    ],
    ...over,
  };
}

function camera(over: Partial<CameraProps> = {}): CameraProps {
  return { id: 'K1', lat: 51.128, lon: 71.4305, bearing: 45, fov: 90, range: 30, owner: 'street', link: 'connected', archive_days: 30, status: 'working', ...over };
}

function register(): CameraCollection {
  const ring: GeoJSON.Polygon = { type: 'Polygon', coordinates: [[[71.4305, 51.128], [71.431, 51.1283], [71.4312, 51.128], [71.4305, 51.128]]] };
  return {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: ring, properties: camera() },
      { type: 'Feature', geometry: ring, properties: camera({ id: 'K2', owner: 'shop', link: 'standalone' }) },
      { type: 'Feature', geometry: ring, properties: camera({ id: 'K3', owner: 'stop', status: 'faulty' }) },
      { type: 'Feature', geometry: ring, properties: camera({ id: 'K4', lat: Number.NaN }) },
    ],
  };
}

describe('camera words', () => {
  it('names every owner, status and link in every language', () => {
    for (const l of ['ru', 'kk', 'en'] as const) {
      for (const o of OWNERS) expect(ownerName(o, l), `${l}:${o}`).toBe(DICTS[l][`cam.owner.${o}` as keyof (typeof DICTS)['ru']]);
      for (const s of STATUSES) expect(statusName(s, l)).toBe(DICTS[l][`cam.status.${s}` as keyof (typeof DICTS)['ru']]);
      for (const k of LINKS) expect(linkName(k, l)).toBe(DICTS[l][`cam.link.${k}` as keyof (typeof DICTS)['ru']]);
      for (let i = 0; i < 8; i++) expect(hasKey(`cam.dir.${i}`)).toBe(true);
    }
    expect(ownerName('shop', 'en')).toBe('Shop or shopping centre');
    expect(statusName('faulty', 'ru')).toBe('Неисправна');
    expect(linkName('connected', 'kk')).toBe('Мониторинг орталығына қосылған');
    // Unknown codes are shown as they are.
    expect(ownerName('drone', 'en')).toBe('drone');
    expect(statusName('stolen', 'en')).toBe('stolen');
    expect(ownerName(null, 'en')).toBe('—');
  });

  it('puts a bearing into a compass direction', () => {
    expect(compass(0, 'en')).toBe('north');
    expect(compass(45, 'en')).toBe('north-east');
    expect(compass(200, 'en')).toBe('south');
    expect(compass(350, 'en')).toBe('north');
    expect(compass(-90, 'en')).toBe('west');
    expect(compass(720 + 135, 'ru')).toBe('юго-восток');
  });

  it('describes a camera for its popup', () => {
    expect(cameraLines(camera(), 'en').map(([k, v]) => [k, sp(v)])).toEqual([
      ['Status', 'Working'],
      ['Owner', 'Street (city network)'],
      ['Monitoring link', 'Connected to the monitoring centre'],
      ['Field of view', '90°'],
      ['Facing', '45° (north-east)'],
      ['Range', '30 m'],
      ['Recordings kept, days', '30'],
      ['Position (latitude; longitude)', '51.12800; 71.43050'],
    ]);
    // All round: no facing.
    const round = cameraLines(camera({ fov: 360, range: 12.5, status: 'planned', link: 'standalone' }), 'ru').map(([k, v]) => [k, sp(v)]);
    expect(round.map((r) => r[0])).not.toContain('Направление');
    expect(round).toContainEqual(['Угол обзора', '360° (круговой обзор)']);
    expect(round).toContainEqual(['Дальность', '12,5 м']);
    expect(round).toContainEqual(['Состояние', 'Планируется']);
    expect(round).toContainEqual(['Координаты (широта; долгота)', '51,12800; 71,43050']);
  });

  it('reads a camera back from map feature properties', () => {
    expect(cameraFromProps({ id: 'K9', lat: '51.1', lon: 71.4, bearing: '90', fov: 60, range: 25, owner: 'shop', link: 'standalone', archive_days: 14, status: 'faulty' })).toEqual(
      camera({ id: 'K9', lat: 51.1, lon: 71.4, bearing: 90, fov: 60, range: 25, owner: 'shop', link: 'standalone', archive_days: 14, status: 'faulty' }),
    );
    const bare = cameraFromProps({ id: 7 });
    expect(bare).toMatchObject({ id: '7', bearing: 0, fov: 90, range: 30, owner: 'other', link: 'standalone', archive_days: 30, status: 'working' });
    expect(Number.isNaN(bare.lat)).toBe(true);
    expect(cameraLines(bare, 'en').slice(-1)).toEqual([['Position (latitude; longitude)', '—']]);
  });
});

describe('cameras on the map', () => {
  it('colours working cameras by owner and the others grey', () => {
    expect(new Set(Object.values(OWNER_COLORS)).size).toBe(OWNERS.length);
    expect(Object.values(OWNER_COLORS)).not.toContain(INACTIVE_COLOR);
    expect(ownerColor('shop')).toBe(OWNER_COLORS.shop);
    expect(ownerColor('drone')).toBe(OWNER_COLORS.other);
    const e = cameraColorExpression() as unknown[];
    expect(e[0]).toBe('case');
    expect(e[1]).toEqual(['==', ['get', 'status'], 'working']);
    expect(e[3]).toBe(INACTIVE_COLOR);
    const match = e[2] as unknown[];
    expect(match.slice(0, 2)).toEqual(['match', ['get', 'owner']]);
    for (const o of OWNERS) expect(match[match.indexOf(o) + 1]).toBe(OWNER_COLORS[o]);
    expect(match[match.length - 1]).toBe(OWNER_COLORS.other);
    expect(isWorking('working')).toBe(true);
    expect(isWorking('planned')).toBe(false);
  });

  it('places a circle at each camera with a position', () => {
    const pts = cameraPositions(register());
    expect(pts.features).toHaveLength(3);
    expect(pts.features[0].geometry.coordinates).toEqual([71.4305, 51.128]);
    expect(pts.features[1].properties.id).toBe('K2');
  });

  it('lists for the legend only what is on the map', () => {
    expect(cameraLegend(register())).toEqual({ owners: ['street', 'shop'], inactive: true, connected: true, standalone: true });
    expect(cameraLegend({ features: [] })).toEqual({ owners: [], inactive: false, connected: false, standalone: false });
  });
});

describe('coverage', () => {
  it('writes N of M with the share', () => {
    expect(sp(nOfM(640, 5000, 0.128, 'en'))).toBe('640 of 5,000 (13%)');
    expect(sp(nOfM(640, 5000, 0.128, 'ru'))).toBe('640 из 5 000 (13 %)');
    // Kazakh: the percent sign's spacing depends on the browser's ICU data.
    expect(sp(nOfM(9, 40, 0.225, 'kk'))).toMatch(/^40 ішінен 9 \(23 ?%\)$/);
    // No share from the server: computed when there is something to divide.
    expect(sp(nOfM(1, 20, null, 'en'))).toBe('1 of 20 (5%)');
    expect(nOfM(0, 0, null, 'en')).toBe('0 of 0 (—)');
  });

  it('gives the three headline figures', () => {
    expect(headline(coverage(), 'en').map((x) => [x.key, sp(x.value), sp(x.detail)])).toEqual([
      ['incidents', '13%', '640 of 5,000'],
      ['hotspots', '23%', '9 of 40'],
      ['cameras', '10 of 12', 'not working: 2'],
    ]);
    const none = headline(coverage({ hotspot_cells: null, incidents: { total: 0, covered: 0, share: null }, cameras: { registered: 0, working: 0 } }), 'en');
    expect(none.map((x) => [x.value, x.detail])).toEqual([
      ['—', '0 of 0'],
      ['—', 'not computed'],
      ['0 of 0', 'not working: 0'],
    ]);
    expect(headline(coverage(), 'ru')[0].label).toBe('Происшествий в зоне обзора работающих камер');
  });

  it('says what the cameras cover in sentences', () => {
    expect(coverageSentences(coverage(), 'en').map(sp)).toEqual([
      "640 of 5,000 incidents (13%) happened inside a working camera's view.",
      'Hot-spot cells (250 m, Gi*): 40; a working camera sees the centre of 9 of them (23%).',
      'Cameras working: 10 of 12 registered.',
    ]);
    expect(sp(coverageSentences(coverage(), 'ru')[0])).toBe('В зоне обзора работающей камеры произошло 640 из 5 000 происшествий (13 %).');
    const empty = coverageSentences(coverage({ incidents: { total: 0, covered: 0, share: null }, hotspot_cells: { cells: 0, covered: 0, share: null, cell_metres: 250 } }), 'en');
    expect(empty.slice(0, 2)).toEqual(['There are no incidents in the chosen period.', 'No hot-spot cells (250 m, Gi*) were found in the period.']);
    expect(coverageSentences(coverage({ hotspot_cells: null }), 'en')[1]).toBe('Hot-spot cells could not be computed: there are too few incidents.');
  });

  it('sorts the districts by incidents and names the incidents outside districts', () => {
    const ds = sortCoverageDistricts(coverage().districts);
    expect(ds.map((d) => d.district)).toEqual(['Almaty', 'Baikonur', 'Yesil', null, 'Empty']);
    expect(coverageDistrictLabel(ds[3], 'en')).toBe('Outside districts');
    expect(coverageDistrictLabel(ds[0], 'en')).toBe('Almaty');
    expect(districtShare(ds[0])).toBe(0.1905);
    // A missing share is computed; a district without incidents has none.
    expect(districtShare(ds[1])).toBeCloseTo(20 / 900, 12);
    expect(districtShare(ds[4])).toBeNull();
    // Ties: by name, the incidents outside districts last.
    expect(sortCoverageDistricts([{ district: null, incidents: 5, covered: 0, share: 0 }, { district: 'B', incidents: 5, covered: 1, share: 0.2 }, { district: 'A', incidents: 5, covered: 1, share: 0.2 }]).map((d) => d.district)).toEqual(['A', 'B', null]);
  });

  it('writes the district table as CSV', () => {
    const rows = coverageCsvRows(coverage());
    expect(rows[0]).toEqual(['Almaty', 2100, 400, 0.1905]);
    expect(rows[3]).toEqual(['', 40, 0, 0]);
    expect(rows[4]).toEqual(['Empty', 0, 0, null]);
    const csv = toCsv(COVERAGE_CSV_HEADER, rows).split('\r\n');
    expect(csv[0]).toBe('district,incidents,covered,share');
    expect(csv[5]).toBe('Empty,0,0,');
    expect(coverageCsvRows({ districts: [] })).toEqual([]);
  });

  it('orders the owners and the cameras', () => {
    expect(sortOwners(coverage().owners).map((o) => o.owner)).toEqual(['street', 'shop', 'stop']);
    expect(perCamera(coverage().owners[0], 'en')).toBe('50');
    expect(perCamera({ owner: 'stop', cameras: 3, incidents_seen: 10 }, 'ru')).toBe('3,3');
    expect(perCamera({ owner: 'stop', cameras: 0, incidents_seen: 0 }, 'en')).toBe('—');
    expect(topCameras(coverage(), 3).map((c) => c.id)).toEqual(['K1', 'K3', 'K2']);
    expect(topCameras(coverage()).map((c) => c.id)).toEqual(['K1', 'K3', 'K2', 'K10']);
    expect(camerasCsvRows(coverage())[0]).toEqual(['K1', 'street', 310]);
    expect(toCsv(CAMERAS_CSV_HEADER, camerasCsvRows(coverage())).split('\r\n')[0]).toBe('camera,owner,incidents_seen');
  });
});

describe('register upload', () => {
  it('chooses the format from the file name', () => {
    expect(registerFormat('cameras.csv')).toBe('csv');
    expect(registerFormat('Камеры 2024.CSV')).toBe('csv');
    expect(registerFormat('register.geojson')).toBe('geojson');
    expect(registerFormat('register.json')).toBe('geojson');
    expect(registerFormat('register.xlsx')).toBeNull();
    expect(registerFormat('csv')).toBeNull();
    expect(registerContentType('csv')).toBe('text/csv');
    expect(registerContentType('geojson')).toBe('application/geo+json');
  });

  it('reports what was added and updated', () => {
    expect(uploadResultText({ cameras: 3, added: 2, updated: 1 }, 'en')).toBe('Register uploaded. Cameras in the file: 3; added: 2; updated: 1.');
    expect(sp(uploadResultText({ cameras: 1200, added: 1200, updated: 0 }, 'ru'))).toBe('Реестр загружен. Камер в файле: 1 200; добавлено: 1 200; обновлено: 0.');
  });

  it('reads the reject list of a 422', () => {
    const body = { error: '2 invalid row(s); nothing was imported', rejects: [{ line: 3, field: 'fov', reason: 'field of view 400 is outside (0, 360] degrees' }, { line: 5, field: 'lat', reason: "'x' is not a number" }] };
    expect(isRejected(body)).toBe(true);
    expect(isRejected({ error: 'forbidden' })).toBe(false);
    expect(isRejected(null)).toBe(false);
    expect(rejectTotal(body)).toBe(2);
    expect(rejectTotal({ ...body, error: '1500 invalid row(s); nothing was imported' })).toBe(1500);
    expect(rejectTotal({ ...body, error: 'something else' })).toBe(2);
    expect(toCsv(REJECTS_CSV_HEADER, rejectsCsvRows(body)).split('\r\n').slice(0, 2)).toEqual(['line,field,reason', '3,fov,"field of view 400 is outside (0, 360] degrees"']);
  });
});

describe('planning translations', () => {
  it('has every cam./cov./reg. key in the three languages', () => {
    const keys = Object.keys(DICTS.ru).filter((k) => /^(cam|cov|reg|pl)\./.test(k));
    expect(keys.length).toBeGreaterThan(70);
    for (const l of ['kk', 'en'] as const) for (const k of keys) expect(DICTS[l][k as keyof (typeof DICTS)['ru']], `${l}:${k}`).toBeTruthy();
    expect(DICTS.ru['nav.planning']).toBe('Планирование');
    expect(DICTS.kk['nav.planning']).toBe('Жоспарлау');
    expect(DICTS.en['nav.planning']).toBe('Planning');
  });
});
