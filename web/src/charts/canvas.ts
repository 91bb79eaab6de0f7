// Canvas charts drawn by hand (PNG export is canvas.toBlob).

export const FONT = "12px system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif";
export const FONT_BOLD = "600 12px system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif";
export const TEXT = '#1d2733';
export const MUTED = '#5e6b7a';
export const GRID = '#e3e7ec';

/** Size a canvas for the device pixel ratio, paint it white, return its 2D context in CSS pixels. */
export function setup(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.fillStyle = TEXT;
  ctx.textBaseline = 'middle';
  return ctx;
}

/** "Nice" axis maximum and step for a maximum value. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 1 };
  const raw = max / ticks;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return { max: Math.ceil(max / step) * step, step };
}

/** Sequential colour (YlOrRd) for t in [0, 1]. */
export function heatColor(t: number): string {
  const stops: [number, number, number][] = [
    [255, 255, 229],
    [255, 237, 160],
    [254, 217, 118],
    [254, 178, 76],
    [253, 141, 60],
    [252, 78, 42],
    [227, 26, 28],
    [177, 0, 38],
  ];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function fmtAxis(v: number): string {
  if (v >= 10000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  return String(Math.round(v * 100) / 100);
}

/** Hour × weekday matrix (rows = weekdays). */
export function drawHeat(canvas: HTMLCanvasElement, width: number, matrix: number[][], rowLabels: string[], title: string): void {
  const left = 38, top = title ? 26 : 8, right = 70, bottom = 26;
  const cw = Math.max(10, (width - left - right) / 24);
  const ch = 24;
  const height = top + ch * 7 + bottom;
  const ctx = setup(canvas, width, height);
  if (title) {
    ctx.font = FONT_BOLD;
    ctx.fillText(title, left, 12);
    ctx.font = FONT;
  }
  let max = 0, min = Infinity;
  for (const r of matrix)
    for (const v of r) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
  if (!Number.isFinite(min) || min >= max) min = 0;
  for (let d = 0; d < 7; d++) {
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'right';
    ctx.fillText(rowLabels[d] ?? '', left - 6, top + d * ch + ch / 2);
    for (let hr = 0; hr < 24; hr++) {
      const v = matrix[d]?.[hr] ?? 0;
      ctx.fillStyle = heatColor(max > min ? (v - min) / (max - min) : 0);
      ctx.fillRect(left + hr * cw, top + d * ch, cw - 1, ch - 1);
    }
  }
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'center';
  for (let hr = 0; hr < 24; hr += cw < 18 ? 2 : 1) ctx.fillText(String(hr).padStart(2, '0'), left + hr * cw + cw / 2, top + 7 * ch + 10);
  // Colour key.
  const kx = width - right + 14, kh = ch * 7;
  for (let i = 0; i < kh; i++) {
    ctx.fillStyle = heatColor(1 - i / kh);
    ctx.fillRect(kx, top + i, 12, 1);
  }
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'left';
  ctx.fillText(fmtAxis(max), kx + 16, top + 5);
  ctx.fillText(fmtAxis(min), kx + 16, top + kh - 5);
}

/** A line chart of a series with category labels on the x axis. */
export function drawLine(canvas: HTMLCanvasElement, width: number, labels: string[], values: number[], title: string): void {
  const height = 260;
  const left = 52, right = 16, top = title ? 30 : 12, bottom = 44;
  const ctx = setup(canvas, width, height);
  if (title) {
    ctx.font = FONT_BOLD;
    ctx.fillText(title, left, 13);
    ctx.font = FONT;
  }
  const { max, step } = niceScale(Math.max(0, ...values));
  const pw = width - left - right, ph = height - top - bottom;
  const y = (v: number) => top + ph - (v / max) * ph;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let v = 0; v <= max + 1e-9; v += step) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmtAxis(v), left - 6, y(v));
  }
  const n = values.length;
  const x = (i: number) => left + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  // X labels: at most ~12.
  ctx.font = FONT;
  const labelW = Math.max(40, ...labels.map((l) => ctx.measureText(l).width + 12));
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / labelW))));
  ctx.textAlign = 'center';
  ctx.fillStyle = MUTED;
  for (let i = 0; i < n; i += every) ctx.fillText(labels[i], x(i), height - bottom + 16);
  if (n === 0) return;
  ctx.strokeStyle = '#1f3a5f';
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
  ctx.fillStyle = 'rgba(31,58,95,0.08)';
  ctx.lineTo(x(n - 1), y(0));
  ctx.lineTo(x(0), y(0));
  ctx.closePath();
  ctx.fill();
  if (n <= 48) {
    ctx.fillStyle = '#1f3a5f';
    values.forEach((v, i) => {
      ctx.beginPath();
      ctx.arc(x(i), y(v), 2.5, 0, Math.PI * 2);
      ctx.fill();
    });
  }
}

/** Horizontal bar chart. */
export function drawBars(canvas: HTMLCanvasElement, width: number, labels: string[], values: number[], title: string, color = '#2c4f7c'): void {
  const rowH = 22;
  const top = title ? 28 : 8;
  const height = top + Math.max(1, labels.length) * rowH + 24;
  const ctx = setup(canvas, width, height);
  if (title) {
    ctx.font = FONT_BOLD;
    ctx.fillText(title, 8, 13);
    ctx.font = FONT;
  }
  let labelW = 60;
  for (const l of labels) labelW = Math.max(labelW, ctx.measureText(l).width + 12);
  labelW = Math.min(labelW, width * 0.45);
  const left = labelW, right = 60;
  const { max, step } = niceScale(Math.max(0, ...values));
  const pw = width - left - right;
  ctx.strokeStyle = GRID;
  ctx.textAlign = 'center';
  for (let v = 0; v <= max + 1e-9; v += step) {
    const x = left + (v / max) * pw;
    ctx.beginPath();
    ctx.moveTo(Math.round(x) + 0.5, top);
    ctx.lineTo(Math.round(x) + 0.5, top + labels.length * rowH);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmtAxis(v), x, top + labels.length * rowH + 12);
  }
  labels.forEach((l, i) => {
    const yy = top + i * rowH;
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'right';
    ctx.fillText(ellipsize(ctx, l, labelW - 10), left - 6, yy + rowH / 2);
    const w = (values[i] / max) * pw;
    ctx.fillStyle = color;
    ctx.fillRect(left, yy + 4, Math.max(1, w), rowH - 8);
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(values[i].toLocaleString('en-US').replace(/,/g, '\u202f'), left + w + 4, yy + rowH / 2);
  });
}

function ellipsize(ctx: CanvasRenderingContext2D, s: string, w: number): string {
  if (ctx.measureText(s).width <= w) return s;
  let t = s;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > w) t = t.slice(0, -1);
  return `${t}…`;
}

/** Draw a table (header + rows of text) to a canvas, for PNG export. */
export function drawTable(canvas: HTMLCanvasElement, title: string, header: string[], rows: string[][], numeric: boolean[] = []): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT_BOLD;
  const widths = header.map((h) => probe.measureText(h).width + 16);
  probe.font = FONT;
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, probe.measureText(c).width + 16)));
  const rowH = 22, top = title ? 30 : 6;
  const width = Math.ceil(widths.reduce((a, b) => a + b, 0)) + 16;
  const height = top + rowH * (rows.length + 1) + 10;
  const ctx = setup(canvas, Math.max(width, 200), height);
  if (title) {
    ctx.font = FONT_BOLD;
    ctx.fillText(title, 8, 14);
  }
  let y = top;
  ctx.fillStyle = '#f3f5f8';
  ctx.fillRect(8, y, width - 16, rowH);
  const drawRow = (cells: string[], bold: boolean) => {
    let x = 8;
    ctx.font = bold ? FONT_BOLD : FONT;
    cells.forEach((c, i) => {
      ctx.fillStyle = TEXT;
      if (numeric[i]) {
        ctx.textAlign = 'right';
        ctx.fillText(c, x + widths[i] - 8, y + rowH / 2);
      } else {
        ctx.textAlign = 'left';
        ctx.fillText(c, x + 8, y + rowH / 2);
      }
      x += widths[i];
    });
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(8, y + rowH + 0.5);
    ctx.lineTo(width - 8, y + rowH + 0.5);
    ctx.stroke();
    y += rowH;
  };
  drawRow(header, true);
  for (const r of rows) drawRow(r, false);
}

/** A cell of `drawCellTable`: lines of text (the first bold); highlighted cells are filled and outlined. */
export interface TableCell {
  lines: string[];
  highlight?: boolean;
}

export const HIGHLIGHT_FILL = '#ffd9a3';
export const HIGHLIGHT_EDGE = '#a35a00';

/** Split `text` into lines no wider than `width` (at spaces). */
export function wrapText(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w)) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      out.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) out.push(line);
  return out;
}

/**
 * A cross table for PNG export: a corner label, column labels, row labels and cells of
 * several lines each (the first bold), highlighted cells filled and outlined, notes below.
 */
export function drawCellTable(canvas: HTMLCanvasElement, title: string, corner: string, colLabels: string[], rowLabels: string[], cells: TableCell[][], notes: string[] = []): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT_BOLD;
  let labelW = probe.measureText(corner).width;
  for (const l of rowLabels) labelW = Math.max(labelW, probe.measureText(l).width);
  labelW += 20;
  const colW = colLabels.map((l) => probe.measureText(l).width + 20);
  let lines = 1;
  for (const row of cells)
    row.forEach((c, j) => {
      lines = Math.max(lines, c.lines.length);
      c.lines.forEach((s, k) => {
        probe.font = k === 0 ? FONT_BOLD : FONT;
        colW[j] = Math.max(colW[j] ?? 0, probe.measureText(s).width + 20);
      });
    });
  const pad = 6, lineH = 16, headH = 26, noteH = 16, margin = 8;
  const rowH = pad * 2 + lines * lineH;
  const tableW = labelW + colW.reduce((a, b) => a + b, 0);
  probe.font = FONT_BOLD;
  const titleW = title ? probe.measureText(title).width : 0;
  const width = Math.ceil(Math.max(tableW + margin * 2, Math.min(titleW + margin * 2, 1200), 640));
  const titleLines = title ? wrapText(probe, title, width - margin * 2) : [];
  probe.font = FONT;
  // An empty note is a blank line.
  const noteLines = notes.flatMap((n) => (n.trim() ? wrapText(probe, n, width - margin * 2) : ['']));
  const top = titleLines.length ? 12 + titleLines.length * noteH : margin;
  const height = Math.ceil(top + headH + rowH * rowLabels.length + (noteLines.length ? 12 + noteLines.length * noteH : 0) + margin);
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, margin, 6 + k * noteH + noteH / 2));
  // Header.
  ctx.fillStyle = '#f3f5f8';
  ctx.fillRect(margin, top, tableW, headH);
  ctx.font = FONT_BOLD;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'left';
  ctx.fillText(corner, margin + 8, top + headH / 2);
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  let x = margin + labelW;
  colLabels.forEach((l, j) => {
    ctx.fillText(l, x + colW[j] / 2, top + headH / 2);
    x += colW[j];
  });
  // Rows.
  rowLabels.forEach((label, i) => {
    const y = top + headH + i * rowH;
    ctx.font = FONT_BOLD;
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(label, margin + 8, y + rowH / 2);
    let cx = margin + labelW;
    (cells[i] ?? []).forEach((c, j) => {
      if (c.highlight) {
        ctx.fillStyle = HIGHLIGHT_FILL;
        ctx.fillRect(cx + 1, y + 1, colW[j] - 2, rowH - 2);
        ctx.strokeStyle = HIGHLIGHT_EDGE;
        ctx.lineWidth = 1.5;
        ctx.strokeRect(cx + 1.75, y + 1.75, colW[j] - 3.5, rowH - 3.5);
      }
      ctx.textAlign = 'center';
      c.lines.forEach((s, k) => {
        ctx.font = k === 0 ? FONT_BOLD : FONT;
        ctx.fillStyle = k === 0 ? TEXT : MUTED;
        ctx.fillText(s, cx + colW[j] / 2, y + pad + k * lineH + lineH / 2);
      });
      cx += colW[j];
    });
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(margin, Math.round(y + rowH) + 0.5);
    ctx.lineTo(margin + tableW, Math.round(y + rowH) + 0.5);
    ctx.stroke();
  });
  // Notes.
  ctx.font = FONT;
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'left';
  const ny = top + headH + rowH * rowLabels.length + 12;
  noteLines.forEach((l, k) => ctx.fillText(l, margin, ny + k * noteH + noteH / 2));
}

/** A line of `drawLines`: colour, dash pattern and point marker, so that lines differ without colour too. */
export interface LineSeries {
  label: string;
  color: string;
  dash: number[];
  marker: 'circle' | 'square' | 'triangle' | 'diamond';
  /** One value per x label; null leaves a gap. */
  values: (number | null)[];
}

function drawMarker(ctx: CanvasRenderingContext2D, kind: LineSeries['marker'], x: number, y: number, r: number): void {
  ctx.beginPath();
  if (kind === 'square') ctx.rect(x - r, y - r, 2 * r, 2 * r);
  else if (kind === 'triangle') {
    ctx.moveTo(x, y - r * 1.2);
    ctx.lineTo(x + r * 1.1, y + r * 0.8);
    ctx.lineTo(x - r * 1.1, y + r * 0.8);
    ctx.closePath();
  } else if (kind === 'diamond') {
    ctx.moveTo(x, y - r * 1.3);
    ctx.lineTo(x + r * 1.1, y);
    ctx.lineTo(x, y + r * 1.3);
    ctx.lineTo(x - r * 1.1, y);
    ctx.closePath();
  } else ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.fill();
}

/**
 * Several series over the same x labels, with a legend (line sample, marker, label) above the
 * plot; `fmtY` writes the axis values (e.g. as percent).
 */
export function drawLines(
  canvas: HTMLCanvasElement,
  width: number,
  labels: string[],
  series: LineSeries[],
  title: string,
  fmtY: (v: number) => string = fmtAxis,
  opts: { mark?: { index: number; label: string }; yLabel?: string } = {},
): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT;
  // Legend entries flow into rows.
  const entryW = series.map((s) => 34 + probe.measureText(s.label).width + 18);
  // Room for half of the last x label, which is centred on the plot's right edge.
  const left = 52, right = Math.max(16, labels.length ? probe.measureText(labels[labels.length - 1]).width / 2 + 6 : 0), bottom = 44;
  const rows: number[][] = [[]];
  let used = 0;
  entryW.forEach((w, i) => {
    if (used > 0 && used + w > width - left - right) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(i);
    used += w;
  });
  probe.font = FONT_BOLD;
  const titleLines = title ? wrapText(probe, title, width - left - 8) : [];
  const titleH = titleLines.length ? titleLines.length * 16 + 8 : 6;
  const legendH = series.length ? rows.length * 18 + 6 : 0;
  const top = titleH + legendH + 8 + (opts.yLabel ? 12 : 0);
  const height = top + 220 + bottom;
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, left, 13 + k * 16));
  ctx.font = FONT;
  rows.forEach((row, r) => {
    let x = left;
    const y = titleH + r * 18 + 9;
    for (const i of row) {
      const s = series[i];
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(s.dash);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + 26, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = s.color;
      drawMarker(ctx, s.marker, x + 13, y, 3.5);
      ctx.fillStyle = TEXT;
      ctx.textAlign = 'left';
      ctx.fillText(s.label, x + 32, y);
      x += entryW[i];
    }
  });
  let maxV = 0;
  for (const s of series) for (const v of s.values) if (v !== null && Number.isFinite(v)) maxV = Math.max(maxV, v);
  const { max, step } = niceScale(maxV);
  const pw = width - left - right, ph = height - top - bottom;
  const y = (v: number) => top + ph - (v / max) * ph;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let k = 0; k * step <= max + 1e-9; k++) {
    const v = k * step;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmtY(v), left - 6, y(v));
  }
  const n = labels.length;
  const x = (i: number) => left + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const labelW = Math.max(40, ...labels.map((l) => ctx.measureText(l).width + 12));
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / labelW))));
  ctx.textAlign = 'center';
  ctx.fillStyle = MUTED;
  for (let i = 0; i < n; i += every) ctx.fillText(labels[i], x(i), height - bottom + 16);
  if (opts.yLabel) {
    ctx.textAlign = 'left';
    ctx.fillText(opts.yLabel, 4, top - 14);
  }
  // A marked moment (e.g. the start of a measure): between its period and the one before, the part after shaded.
  if (opts.mark && n > 1 && opts.mark.index > 0 && opts.mark.index < n) {
    const xm = Math.round(x(opts.mark.index - 0.5)) + 0.5;
    ctx.fillStyle = 'rgba(232,176,74,0.10)';
    ctx.fillRect(xm, top, width - right - xm, ph);
    ctx.strokeStyle = '#8a5a00';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 3]);
    ctx.beginPath();
    ctx.moveTo(xm, top);
    ctx.lineTo(xm, top + ph);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = FONT_BOLD;
    ctx.fillStyle = '#8a5a00';
    const w = ctx.measureText(opts.mark.label).width;
    const leftSide = xm + 6 + w > width - right;
    ctx.textAlign = leftSide ? 'right' : 'left';
    ctx.fillText(opts.mark.label, leftSide ? xm - 6 : xm + 6, top + 9);
    ctx.font = FONT;
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dash);
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
      pen = true;
    });
    ctx.stroke();
    ctx.setLineDash([]);
    if (n <= 60) {
      ctx.fillStyle = s.color;
      s.values.forEach((v, i) => {
        if (v !== null && Number.isFinite(v)) drawMarker(ctx, s.marker, x(i), y(v), 3);
      });
    }
  }
}

/**
 * Pairs of horizontal bars per label (e.g. share of the forecast area and share of the
 * incidents per district), a legend above and notes below; `fmt` writes the values.
 */
export function drawPairedBars(
  canvas: HTMLCanvasElement,
  width: number,
  labels: string[],
  a: number[],
  b: number[],
  legendA: string,
  legendB: string,
  title: string,
  fmt: (v: number) => string,
  notes: string[] = [],
  colors: [string, string] = ['#1f3a5f', '#e8b04a'],
): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT;
  const margin = 8, rowH = 30, barH = 10;
  const noteLines = notes.flatMap((n) => (n.trim() ? wrapText(probe, n, width - margin * 2) : ['']));
  let labelW = 60;
  for (const l of labels) labelW = Math.max(labelW, probe.measureText(l).width + 14);
  labelW = Math.min(labelW, width * 0.4);
  probe.font = FONT_BOLD;
  const titleLines = title ? wrapText(probe, title, width - margin * 2) : [];
  const top = margin + titleLines.length * 16 + 24;
  const plotH = Math.max(1, labels.length) * rowH;
  const height = top + plotH + 22 + (noteLines.length ? 8 + noteLines.length * 16 : 0) + margin;
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, margin, margin + k * 16 + 8));
  ctx.font = FONT;
  // Legend.
  const ly = margin + titleLines.length * 16 + 10;
  let lx = margin;
  for (const [c, l, hatch] of [[colors[0], legendA, false], [colors[1], legendB, true]] as [string, string, boolean][]) {
    ctx.fillStyle = c;
    ctx.fillRect(lx, ly - 5, 14, 10);
    if (hatch) hatchRect(ctx, lx, ly - 5, 14, 10);
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(l, lx + 20, ly);
    lx += 20 + ctx.measureText(l).width + 24;
  }
  const maxV = Math.max(0, ...a, ...b);
  const { max, step } = niceScale(maxV);
  const left = labelW, right = 64;
  const pw = width - left - right;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  for (let k = 0; k * step <= max + 1e-9; k++) {
    const v = k * step;
    const x = left + (v / max) * pw;
    ctx.beginPath();
    ctx.moveTo(Math.round(x) + 0.5, top);
    ctx.lineTo(Math.round(x) + 0.5, top + plotH);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmt(v), x, top + plotH + 12);
  }
  labels.forEach((l, i) => {
    const yy = top + i * rowH;
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'right';
    ctx.fillText(ellipsize(ctx, l, labelW - 12), left - 6, yy + rowH / 2);
    [a[i], b[i]].forEach((v, k) => {
      const by = yy + 4 + k * (barH + 2);
      const w = max > 0 ? (v / max) * pw : 0;
      ctx.fillStyle = colors[k];
      ctx.fillRect(left, by, Math.max(1, w), barH);
      if (k === 1) hatchRect(ctx, left, by, Math.max(1, w), barH);
      ctx.fillStyle = TEXT;
      ctx.textAlign = 'left';
      ctx.font = "10px system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif";
      ctx.fillText(fmt(v), left + w + 4, by + barH / 2);
      ctx.font = FONT;
    });
  });
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'left';
  const ny = top + plotH + 30;
  noteLines.forEach((l, k) => ctx.fillText(l, margin, ny + k * 16 + 8));
}

/** Diagonal lines (white unless `stroke` says) over a filled rectangle (the second bar of a pair, so it differs in print too). */
function hatchRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, stroke = 'rgba(255,255,255,0.7)'): void {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.strokeStyle = stroke;
  ctx.lineWidth = 1;
  for (let d = -h; d < w; d += 4) {
    ctx.beginPath();
    ctx.moveTo(x + d, y + h);
    ctx.lineTo(x + d + h, y);
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * Horizontal bars of shares (0–1), one per label, each with a text at its end (e.g. "13 % (120 of 900)");
 * a null share draws no bar. The axis runs from 0 to a nice maximum; notes are written below.
 */
export function drawShareBars(
  canvas: HTMLCanvasElement,
  width: number,
  labels: string[],
  values: (number | null)[],
  texts: string[],
  title: string,
  fmt: (v: number) => string,
  notes: string[] = [],
  color = '#1f3a5f',
): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT;
  const margin = 8, rowH = 22;
  const noteLines = notes.flatMap((n) => (n.trim() ? wrapText(probe, n, width - margin * 2) : ['']));
  let labelW = 60;
  for (const l of labels) labelW = Math.max(labelW, probe.measureText(l).width + 14);
  labelW = Math.min(labelW, width * 0.35);
  let textW = 40;
  for (const s of texts) textW = Math.max(textW, probe.measureText(s).width + 10);
  textW = Math.min(textW, width * 0.3);
  probe.font = FONT_BOLD;
  const titleLines = title ? wrapText(probe, title, width - margin * 2) : [];
  const top = margin + titleLines.length * 16 + 8;
  const plotH = Math.max(1, labels.length) * rowH;
  const height = top + plotH + 22 + (noteLines.length ? 8 + noteLines.length * 16 : 0) + margin;
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, margin, margin + k * 16 + 8));
  ctx.font = FONT;
  const maxV = Math.max(0, ...values.map((v) => (v !== null && Number.isFinite(v) ? v : 0)));
  const { max, step } = niceScale(Math.min(1, Math.max(maxV, 0.05)));
  const left = labelW, right = textW;
  const pw = Math.max(40, width - left - right);
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  for (let k = 0; k * step <= max + 1e-9; k++) {
    const v = k * step;
    const x = left + (v / max) * pw;
    ctx.beginPath();
    ctx.moveTo(Math.round(x) + 0.5, top);
    ctx.lineTo(Math.round(x) + 0.5, top + plotH);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmt(v), x, top + plotH + 12);
  }
  labels.forEach((l, i) => {
    const yy = top + i * rowH;
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'right';
    ctx.fillText(ellipsize(ctx, l, labelW - 12), left - 6, yy + rowH / 2);
    const v = values[i];
    const w = v !== null && Number.isFinite(v) && max > 0 ? (Math.min(v, max) / max) * pw : 0;
    if (v !== null && Number.isFinite(v)) {
      ctx.fillStyle = color;
      ctx.fillRect(left, yy + 5, Math.max(1, w), rowH - 10);
    }
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(texts[i] ?? '', left + w + 4, yy + rowH / 2);
  });
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'left';
  const ny = top + plotH + 30;
  noteLines.forEach((l, k) => ctx.fillText(l, margin, ny + k * 16 + 8));
}

/** One row of a forest plot (e.g. inside a table cell): the interval as a line, the value as a square, 1 as a dashed line; a log scale. */
export function drawForestRow(canvas: HTMLCanvasElement, width: number, height: number, value: number, low: number, high: number, scale: { min: number; max: number; ticks: number[] }, color = '#1f3a5f'): void {
  const ctx = setup(canvas, width, height);
  const pad = 6;
  const lx = (v: number) => pad + ((Math.log(Math.max(scale.min, Math.min(scale.max, v))) - Math.log(scale.min)) / (Math.log(scale.max) - Math.log(scale.min))) * (width - 2 * pad);
  const mid = height / 2;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  for (const tk of scale.ticks) {
    const xx = Math.round(lx(tk)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, 2);
    ctx.lineTo(xx, height - 2);
    ctx.stroke();
  }
  const one = Math.round(lx(1)) + 0.5;
  ctx.strokeStyle = MUTED;
  ctx.setLineDash([3, 2]);
  ctx.beginPath();
  ctx.moveTo(one, 1);
  ctx.lineTo(one, height - 1);
  ctx.stroke();
  ctx.setLineDash([]);
  if (!(Number.isFinite(value) && Number.isFinite(low) && Number.isFinite(high))) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(lx(low), mid);
  ctx.lineTo(lx(high), mid);
  ctx.stroke();
  for (const v of [low, high]) {
    ctx.beginPath();
    ctx.moveTo(lx(v), mid - 4);
    ctx.lineTo(lx(v), mid + 4);
    ctx.stroke();
  }
  ctx.fillStyle = color;
  ctx.fillRect(lx(value) - 4, mid - 4, 8, 8);
}

/** The axis under a column of forest rows: the ticks of the log scale, labelled. */
export function drawForestAxis(canvas: HTMLCanvasElement, width: number, scale: { min: number; max: number; ticks: number[] }, fmt: (v: number) => string): void {
  const height = 18;
  const ctx = setup(canvas, width, height);
  const pad = 6;
  const lx = (v: number) => pad + ((Math.log(v) - Math.log(scale.min)) / (Math.log(scale.max) - Math.log(scale.min))) * (width - 2 * pad);
  ctx.fillStyle = MUTED;
  ctx.font = "10px system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif";
  ctx.textAlign = 'center';
  for (const tk of scale.ticks) {
    const xx = lx(tk);
    ctx.fillText(fmt(tk), Math.max(8, Math.min(width - 8, xx)), height / 2);
  }
}

/**
 * A whole forest plot for PNG export: a row per label with its value and interval on a log
 * scale, 1 marked, the values written at the right; notes below.
 */
export function drawForest(
  canvas: HTMLCanvasElement,
  width: number,
  rows: { label: string; value: number; low: number; high: number; text: string }[],
  scale: { min: number; max: number; ticks: number[] },
  title: string,
  fmt: (v: number) => string,
  notes: string[] = [],
): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT;
  const margin = 8, rowH = 26;
  let labelW = 80;
  for (const r of rows) labelW = Math.max(labelW, probe.measureText(r.label).width + 16);
  labelW = Math.min(labelW, width * 0.4);
  let textW = 60;
  for (const r of rows) textW = Math.max(textW, probe.measureText(r.text).width + 16);
  const noteLines = notes.flatMap((n) => (n.trim() ? wrapText(probe, n, width - margin * 2) : ['']));
  probe.font = FONT_BOLD;
  const titleLines = title ? wrapText(probe, title, width - margin * 2) : [];
  const top = margin + titleLines.length * 16 + 8;
  const plotH = Math.max(1, rows.length) * rowH;
  const height = top + plotH + 24 + (noteLines.length ? 8 + noteLines.length * 16 : 0) + margin;
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, margin, margin + k * 16 + 8));
  ctx.font = FONT;
  const left = margin + labelW, right = width - margin - textW;
  const lx = (v: number) => left + ((Math.log(Math.max(scale.min, Math.min(scale.max, v))) - Math.log(scale.min)) / (Math.log(scale.max) - Math.log(scale.min))) * (right - left);
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'center';
  for (const tk of scale.ticks) {
    const xx = Math.round(lx(tk)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, top);
    ctx.lineTo(xx, top + plotH);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmt(tk), xx, top + plotH + 12);
  }
  const one = Math.round(lx(1)) + 0.5;
  ctx.strokeStyle = MUTED;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(one, top);
  ctx.lineTo(one, top + plotH);
  ctx.stroke();
  ctx.setLineDash([]);
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'right';
    ctx.fillText(ellipsize(ctx, r.label, labelW - 10), left - 8, y);
    ctx.strokeStyle = '#1f3a5f';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(lx(r.low), y);
    ctx.lineTo(lx(r.high), y);
    ctx.stroke();
    ctx.fillStyle = '#1f3a5f';
    ctx.fillRect(lx(r.value) - 4, y - 4, 8, 8);
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(r.text, right + 10, y);
  });
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'left';
  const ny = top + plotH + 32;
  noteLines.forEach((l, k) => ctx.fillText(l, margin, ny + k * 16 + 8));
}

/**
 * Vertical columns over category labels (e.g. months); a null value is withheld: its slot is
 * hatched in grey with no column, and a legend entry `withheldLabel` says so. Values are written
 * above the columns when they fit.
 */
export function drawColumns(
  canvas: HTMLCanvasElement,
  width: number,
  labels: string[],
  values: (number | null)[],
  title: string,
  withheldLabel: string,
  fmt: (v: number) => string = (v) => v.toLocaleString('en-US').replace(/,/g, '\u202f'),
  color = '#2c4f7c',
): void {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = FONT_BOLD;
  const left = 52, right = 12, bottom = 44;
  const titleLines = title ? wrapText(probe, title, width - left - 8) : [];
  const titleH = titleLines.length ? titleLines.length * 16 + 6 : 4;
  const anyWithheld = values.some((v) => v === null);
  const legendH = anyWithheld ? 20 : 0;
  const top = titleH + legendH + 14;
  const height = top + 200 + bottom;
  const ctx = setup(canvas, width, height);
  ctx.font = FONT_BOLD;
  titleLines.forEach((l, k) => ctx.fillText(l, left, 12 + k * 16));
  ctx.font = FONT;
  if (anyWithheld) {
    const ly = titleH + 10;
    ctx.fillStyle = '#eef1f4';
    ctx.fillRect(left, ly - 6, 16, 12);
    hatchRect(ctx, left, ly - 6, 16, 12, '#9aa6b4');
    ctx.strokeStyle = '#9aa6b4';
    ctx.strokeRect(left + 0.5, ly - 5.5, 15, 11);
    ctx.fillStyle = TEXT;
    ctx.textAlign = 'left';
    ctx.fillText(withheldLabel, left + 22, ly);
  }
  let maxV = 0;
  for (const v of values) if (v !== null && Number.isFinite(v)) maxV = Math.max(maxV, v);
  const { max, step } = niceScale(maxV);
  const pw = width - left - right, ph = height - top - bottom;
  const y = (v: number) => top + ph - (v / max) * ph;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let k = 0; k * step <= max + 1e-9; k++) {
    const v = k * step;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(fmtAxis(v), left - 6, y(v));
  }
  const n = values.length;
  if (n === 0) return;
  const slot = pw / n;
  const barW = Math.max(2, Math.min(48, slot * 0.72));
  const labelW = Math.max(40, ...labels.map((l) => ctx.measureText(l).width + 10));
  const every = Math.max(1, Math.ceil(labelW / slot));
  ctx.font = "10px system-ui, 'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif";
  const fitsValues = values.every((v) => v === null || ctx.measureText(fmt(v)).width + 2 <= slot);
  values.forEach((v, i) => {
    const cx = left + slot * (i + 0.5);
    if (v === null || !Number.isFinite(v)) {
      ctx.fillStyle = '#eef1f4';
      ctx.fillRect(cx - barW / 2, top, barW, ph);
      hatchRect(ctx, cx - barW / 2, top, barW, ph, '#b4bec9');
      return;
    }
    const yy = y(v);
    ctx.fillStyle = color;
    ctx.fillRect(cx - barW / 2, yy, barW, Math.max(v > 0 ? 1 : 0, top + ph - yy));
    if (fitsValues) {
      ctx.fillStyle = TEXT;
      ctx.textAlign = 'center';
      ctx.fillText(fmt(v), cx, yy - 7);
    }
  });
  ctx.font = FONT;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'center';
  for (let i = 0; i < n; i += every) ctx.fillText(labels[i], left + slot * (i + 0.5), top + ph + 16);
  ctx.strokeStyle = '#9aa6b4';
  ctx.beginPath();
  ctx.moveTo(left, Math.round(top + ph) + 0.5);
  ctx.lineTo(width - right, Math.round(top + ph) + 0.5);
  ctx.stroke();
}
