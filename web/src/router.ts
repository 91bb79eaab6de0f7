// Hash routing helpers shared by pages (main.ts registers the renderer).

let rerender: () => void = () => {};

export function setRenderer(fn: () => void): void {
  rerender = fn;
}

export function go(path: string): void {
  if (location.hash === `#/${path}`) rerender();
  else location.hash = `#/${path}`;
}
