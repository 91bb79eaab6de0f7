// Shared pieces of the offline MapLibre maps (the map page, the forecast page): no tiles and
// no glyphs, only a plain background with the territory boundary and district lines from the API.

import { setWorkerUrl, type LayerSpecification, type Map as MlMap } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';

setWorkerUrl(workerUrl);

export type FC = GeoJSON.FeatureCollection<GeoJSON.Geometry, Record<string, unknown>> & { qalqan?: Record<string, unknown> };

export const EMPTY: FC = { type: 'FeatureCollection', features: [] };

/** Test hooks of the map pages (`window.__qalqan`), read by e2e/run.mjs; each page sets its own. */
export interface MapHook {
  map?: MlMap | null;
}
declare global {
  interface Window {
    __qalqan?: MapHook;
  }
}

/** The layers under the data: background and the territory's white fill (source `bounds`). */
export function baseLayersBelow(): LayerSpecification[] {
  return [
    { id: 'background', type: 'background', paint: { 'background-color': '#e9edf1' } },
    { id: 'territory-fill', type: 'fill', source: 'bounds', filter: ['==', ['get', 'kind'], 'territory'], paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.85 } },
  ];
}

/** The lines over the data: district (dashed) and territory boundaries (source `bounds`). */
export function baseLayersAbove(): LayerSpecification[] {
  return [
    { id: 'district-line', type: 'line', source: 'bounds', filter: ['==', ['get', 'kind'], 'district'], paint: { 'line-color': '#5b6b7c', 'line-width': 1, 'line-dasharray': [3, 2] } },
    { id: 'territory-line', type: 'line', source: 'bounds', filter: ['==', ['get', 'kind'], 'territory'], paint: { 'line-color': '#1f3a5f', 'line-width': 2.2 } },
  ];
}

export function webglAvailable(): boolean {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl2') || c.getContext('webgl'));
  } catch {
    return false;
  }
}

/** The bounding box [west, south, east, north] of the features (those `keep` accepts), null when none. */
export function bboxOf(fc: FC, keep?: (p: Record<string, unknown>) => boolean): [number, number, number, number] | null {
  let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
  const visit = (co: unknown): void => {
    if (Array.isArray(co) && typeof co[0] === 'number') {
      const [x, y] = co as number[];
      if (x < a) a = x;
      if (x > c) c = x;
      if (y < b) b = y;
      if (y > d) d = y;
    } else if (Array.isArray(co)) co.forEach(visit);
  };
  for (const f of fc.features) {
    if (!f.geometry || (keep && !keep(f.properties ?? {}))) continue;
    if ('coordinates' in f.geometry) visit(f.geometry.coordinates);
  }
  return a <= c ? [a, b, c, d] : null;
}
