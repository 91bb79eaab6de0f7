import { defineConfig } from 'vitest/config';

// The UI is embedded into the Rust binary: deterministic output, no source maps,
// everything under /assets with content hashes, no external URLs.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    modulePreload: { polyfill: false },
  },
  worker: { format: 'es' },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
