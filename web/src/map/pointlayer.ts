// A MapLibre custom WebGL layer drawing the incident points (Float32 lon/lat
// from the binary layer) as GL points: 241k points in one draw call.

import type { CustomLayerInterface, CustomRenderMethodInput, Map as MlMap } from 'maplibre-gl';
import type { Points } from './points';

/** Colours of the incident categories (by code; unknown codes get grey). */
export const CATEGORY_COLORS: Record<string, [number, number, number]> = {
  homicide: [110, 0, 20],
  assault: [200, 45, 40],
  sexual_offence: [170, 40, 140],
  robbery: [230, 120, 20],
  burglary: [30, 90, 170],
  theft: [40, 150, 160],
  vehicle_theft: [110, 70, 180],
  fraud: [120, 120, 30],
  drugs: [30, 130, 60],
  weapons: [60, 60, 60],
  vandalism: [160, 110, 70],
  hooliganism: [200, 160, 0],
  traffic: [90, 150, 220],
  terrorism: [0, 0, 0],
  other: [130, 130, 130],
};

export function categoryColor(code: string | undefined): [number, number, number] {
  return (code && CATEGORY_COLORS[code]) || [130, 130, 130];
}

const VS = `
attribute vec2 a_pos;
attribute vec4 a_color;
uniform mat4 u_matrix;
uniform float u_size;
varying vec4 v_color;
void main() {
  gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0);
  gl_PointSize = u_size;
  v_color = a_color;
}`;

const FS = `
precision mediump float;
varying vec4 v_color;
uniform float u_alpha;
uniform float u_rim;
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  float r = dot(d, d);
  if (r > 0.25) discard;
  float edge = smoothstep(0.25, 0.22, r);
  // A light rim keeps points visible over dark hotspot cells.
  vec3 rgb = mix(v_color.rgb, vec3(1.0), smoothstep(0.15, 0.18, r) * u_rim);
  gl_FragColor = vec4(rgb, v_color.a * u_alpha * edge);
}`;

function mercX(lon: number): number {
  return (180 + lon) / 360;
}
function mercY(lat: number): number {
  const s = Math.sin((lat * Math.PI) / 180);
  return 0.5 - (0.25 * Math.log((1 + s) / (1 - s))) / Math.PI;
}

/** Column-major 4×4 product a·b (Float64 to keep precision near the origin). */
function mul(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  const out = new Float32Array(16);
  for (let c = 0; c < 4; c++)
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
  return out;
}

export class PointLayer implements CustomLayerInterface {
  readonly id: string;
  readonly type = 'custom' as const;
  readonly renderingMode = '2d' as const;
  private map: MlMap | null = null;
  private gl: WebGLRenderingContext | WebGL2RenderingContext | null = null;
  private program: WebGLProgram | null = null;
  private posBuf: WebGLBuffer | null = null;
  private colBuf: WebGLBuffer | null = null;
  private count = 0;
  private origin: [number, number] = [0, 0];
  visible = true;

  constructor(id: string, private points: Points) {
    this.id = id;
  }

  onAdd(map: MlMap, gl: WebGLRenderingContext | WebGL2RenderingContext): void {
    this.map = map;
    this.gl = gl;
    const vs = compile(gl, gl.VERTEX_SHADER, VS);
    const fs = compile(gl, gl.FRAGMENT_SHADER, FS);
    const prog = gl.createProgram()!;
    gl.attachShader(prog, vs);
    gl.attachShader(prog, fs);
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`point layer: ${gl.getProgramInfoLog(prog)}`);
    this.program = prog;
    this.upload();
  }

  private upload(): void {
    const gl = this.gl!;
    const p = this.points;
    // Positions relative to an origin in the middle of the data: Float32 keeps
    // sub-metre precision there, where absolute 0..1 mercator would not.
    let sx = 0, sy = 0, k = 0;
    for (let i = 0; i < p.n; i += Math.max(1, Math.floor(p.n / 1000))) {
      if (!Number.isFinite(p.lon[i]) || !Number.isFinite(p.lat[i])) continue;
      sx += mercX(p.lon[i]);
      sy += mercY(p.lat[i]);
      k++;
    }
    this.origin = k ? [sx / k, sy / k] : [0.5, 0.5];
    const palette = p.meta.categories.map((c) => categoryColor(c));
    const pos = new Float32Array(p.n * 2);
    const col = new Uint8Array(p.n * 4);
    // Upload in a fixed pseudo-random order, so that the first m points are an even sample of
    // all of them: at city scale (where points pile on the same pixels) only a sample is drawn.
    const order = shuffledOrder(p.n);
    let j = 0;
    for (let o = 0; o < p.n; o++) {
      const i = order[o];
      const lon = p.lon[i], lat = p.lat[i];
      if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat) > 85) continue;
      pos[2 * j] = mercX(lon) - this.origin[0];
      pos[2 * j + 1] = mercY(lat) - this.origin[1];
      const c = palette[p.category[i]] ?? [130, 130, 130];
      col[4 * j] = c[0];
      col[4 * j + 1] = c[1];
      col[4 * j + 2] = c[2];
      col[4 * j + 3] = 255;
      j++;
    }
    this.count = j;
    this.posBuf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.bufferData(gl.ARRAY_BUFFER, pos.subarray(0, 2 * j), gl.STATIC_DRAW);
    this.colBuf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.bufferData(gl.ARRAY_BUFFER, col.subarray(0, 4 * j), gl.STATIC_DRAW);
  }

  get drawn(): number {
    return this.count;
  }

  /** How many points are drawn at `zoom`: all from street scale (12) in, an even sample further out. */
  drawnAt(zoom: number): number {
    return Math.min(this.count, pointBudget(zoom));
  }

  render(gl: WebGLRenderingContext | WebGL2RenderingContext, args: CustomRenderMethodInput): void {
    if (!this.visible || !this.program || this.count === 0 || !this.map) return;
    const m = args.defaultProjectionData.mainMatrix as unknown as ArrayLike<number>;
    const tr = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, this.origin[0], this.origin[1], 0, 1];
    const matrix = mul(m, tr);
    const zoom = this.map.getZoom();
    const size = Math.max(1.5, Math.min(9, 1.2 + (zoom - 9) * 1.1)) * (window.devicePixelRatio || 1);
    const n = this.drawnAt(zoom);
    // A sample keeps the look of the whole: each drawn point stands for count / n of them.
    const alpha = Math.min(0.9, (zoom < 11 ? 0.35 : zoom < 13 ? 0.55 : 0.85) * Math.sqrt(this.count / Math.max(1, n)));
    gl.useProgram(this.program);
    gl.uniformMatrix4fv(gl.getUniformLocation(this.program, 'u_matrix'), false, matrix);
    gl.uniform1f(gl.getUniformLocation(this.program, 'u_size'), size);
    gl.uniform1f(gl.getUniformLocation(this.program, 'u_alpha'), alpha);
    gl.uniform1f(gl.getUniformLocation(this.program, 'u_rim'), zoom >= 13 ? 0.9 : 0);
    const aPos = gl.getAttribLocation(this.program, 'a_pos');
    const aCol = gl.getAttribLocation(this.program, 'a_color');
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.enableVertexAttribArray(aPos);
    gl.vertexAttribPointer(aPos, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.enableVertexAttribArray(aCol);
    gl.vertexAttribPointer(aCol, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArrays(gl.POINTS, 0, n);
    gl.disableVertexAttribArray(aPos);
    gl.disableVertexAttribArray(aCol);
  }

  onRemove(_map: MlMap, gl: WebGLRenderingContext | WebGL2RenderingContext): void {
    if (this.posBuf) gl.deleteBuffer(this.posBuf);
    if (this.colBuf) gl.deleteBuffer(this.colBuf);
    if (this.program) gl.deleteProgram(this.program);
    this.program = null;
    this.map = null;
  }
}

/** Points drawn at most at a zoom level; beyond it they would only pile on the same pixels. */
export function pointBudget(zoom: number): number {
  return zoom >= 12 ? Infinity : zoom >= 11 ? 150_000 : zoom >= 10 ? 80_000 : 50_000;
}

/** 0..n−1 in a fixed pseudo-random order (Fisher–Yates with a seeded xorshift: the same order every time). */
export function shuffledOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let x = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

function compile(gl: WebGLRenderingContext | WebGL2RenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type)!;
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`point layer shader: ${gl.getShaderInfoLog(s)}`);
  return s;
}
