// Builds the web console into dist/console, served by the service at /console/ (src/http/console.ts).
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [preact()],
  // Only the typed client is shared with the service; nothing else outside console/ is bundled.
  server: { fs: { allow: [here('..')] } },
  build: {
    outDir: here('../dist/console'),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
  },
});
