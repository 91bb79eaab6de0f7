// Planning layers shared by the map page and the planning page: streets, posts (a square for a
// stationary post, a triangle for a mobile point), beats, camera coverage gaps, proposed sites
// (a diamond) and the dosage spots of mobile points. Our own layers and icons drawn on a canvas:
// no tiles, no sprites, no glyphs.

import type { LayerSpecification, Map as MlMap } from 'maplibre-gl';

export const POST_COLORS = { stationary: '#1f3a5f', mobile: '#00838f' };
export const SITE_COLOR = '#e4007c';
export const SPOT_COLOR = '#7a3db8';
export const GAP_COLOR = '#d7191c';
export const STREET_COLOR = '#9aa6b4';

type Shape = 'square' | 'triangle' | 'diamond';

/** An icon drawn on a canvas (2× for sharp edges): a filled shape with a white edge and a dark outline. */
function icon(shape: Shape, fill: string, size: number): { width: number; height: number; data: Uint8Array } | null {
  const px = size * 2;
  const c = document.createElement('canvas');
  c.width = c.height = px;
  const g = c.getContext('2d');
  if (!g) return null;
  const m = 3;
  g.beginPath();
  if (shape === 'square') g.rect(m, m, px - 2 * m, px - 2 * m);
  else if (shape === 'triangle') {
    g.moveTo(px / 2, m);
    g.lineTo(px - m, px - m);
    g.lineTo(m, px - m);
    g.closePath();
  } else {
    g.moveTo(px / 2, m);
    g.lineTo(px - m, px / 2);
    g.lineTo(px / 2, px - m);
    g.lineTo(m, px / 2);
    g.closePath();
  }
  g.fillStyle = fill;
  g.fill();
  g.lineWidth = 2.5;
  g.strokeStyle = '#ffffff';
  g.stroke();
  const d = g.getImageData(0, 0, px, px).data;
  return { width: px, height: px, data: new Uint8Array(d.buffer.slice(0)) };
}

/** Adds the icons to the map now and whenever the style asks for them. */
export function usePlanIcons(map: MlMap): void {
  map.on('styleimagemissing', () => addPlanIcons(map));
  map.once('load', () => addPlanIcons(map));
}

/** Adds the icons once per map. */
export function addPlanIcons(map: MlMap): void {
  const add = (id: string, shape: Shape, fill: string, size: number) => {
    if (map.hasImage(id)) return;
    const img = icon(shape, fill, size);
    if (img) map.addImage(id, img, { pixelRatio: 2 });
  };
  add('post-stationary', 'square', POST_COLORS.stationary, 14);
  add('post-mobile', 'triangle', POST_COLORS.mobile, 16);
  add('site-new', 'diamond', SITE_COLOR, 20);
}

const vis = (on: boolean) => (on ? 'visible' : 'none') as 'visible' | 'none';

/** Street lines: wider for main roads (source `streets`). */
export function streetLayers(on: boolean): LayerSpecification[] {
  const main = ['motorway', 'trunk', 'primary', 'motorway_link', 'trunk_link', 'primary_link'];
  return [
    {
      id: 'streets-line',
      type: 'line',
      source: 'streets',
      layout: { visibility: vis(on), 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': ['case', ['in', ['get', 'class'], ['literal', main]], '#7d8896', STREET_COLOR],
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, ['case', ['in', ['get', 'class'], ['literal', main]], 1.2, 0.4], 16, ['case', ['in', ['get', 'class'], ['literal', main]], 4, 2]],
        'line-opacity': 0.8,
      },
    },
  ];
}

/** Camera coverage gaps: red lines over the streets (source `gaps`). */
export function gapLayers(on: boolean): LayerSpecification[] {
  return [
    {
      id: 'gaps-line',
      type: 'line',
      source: 'gaps',
      layout: { visibility: vis(on), 'line-cap': 'round' },
      paint: { 'line-color': GAP_COLOR, 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2, 16, 5], 'line-opacity': 0.9 },
    },
  ];
}

/** Beats: a fill in the feature's `_c` colour and a dark outline (source `beats`). */
export function beatLayers(on: boolean, prefix = 'beats'): LayerSpecification[] {
  return [
    { id: `${prefix}-fill`, type: 'fill', source: prefix, layout: { visibility: vis(on) }, paint: { 'fill-color': ['coalesce', ['get', '_c'], '#bebada'], 'fill-opacity': 0.45 } },
    { id: `${prefix}-line`, type: 'line', source: prefix, layout: { visibility: vis(on) }, paint: { 'line-color': '#2b2f36', 'line-width': 1.6 } },
  ];
}

/** Posts: a square for stationary posts, a triangle for mobile points (source `posts`). */
export function postLayers(on: boolean): LayerSpecification[] {
  return [
    {
      id: 'posts-symbol',
      type: 'symbol',
      source: 'posts',
      layout: {
        visibility: vis(on),
        'icon-image': ['case', ['==', ['get', 'kind'], 'mobile'], 'post-mobile', 'post-stationary'],
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    },
  ];
}

/** Proposed sites (diamonds, source `sites`) and dosage spots (hollow circles, source `spots`, drawn under the sites). */
export function siteLayers(): LayerSpecification[] {
  return [
    {
      id: 'spots-circle',
      type: 'circle',
      source: 'spots',
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 3, 16, 6], 'circle-color': '#ffffff', 'circle-stroke-color': SPOT_COLOR, 'circle-stroke-width': 2 },
    },
    {
      id: 'sites-symbol',
      type: 'symbol',
      source: 'sites',
      layout: { 'icon-image': 'site-new', 'icon-allow-overlap': true, 'icon-ignore-placement': true },
    },
  ];
}
