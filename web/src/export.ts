// CSV and PNG export (download in the browser).

/** One CSV field: quoted when it holds a separator, a quote or a line break; formula-leading cells are defused. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  // Spreadsheet formula injection: a text cell starting with = + - @ (or tab / CR) is prefixed with '.
  if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  if (/[",\r\n;]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** CSV text (RFC 4180, CRLF line ends) of a header and rows. */
export function toCsv(header: string[], rows: unknown[][]): string {
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadCsv(filename: string, header: string[], rows: unknown[][]): void {
  // BOM so that spreadsheet programs read the Cyrillic text as UTF-8.
  downloadBlob(new Blob(['\ufeff', toCsv(header, rows)], { type: 'text/csv;charset=utf-8' }), filename);
}

export function downloadCanvas(canvas: HTMLCanvasElement, filename: string): void {
  canvas.toBlob((b) => {
    if (b) downloadBlob(b, filename);
  }, 'image/png');
}

/** A safe file name part. */
export function fileSlug(...parts: (string | null | undefined)[]): string {
  return parts
    .filter((p): p is string => !!p)
    .join('_')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}
