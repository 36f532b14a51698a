import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** Builds the renderer once; the same bundle is loaded by Electron and by the browser twin. */
export default defineConfig({
  root: 'src/renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
  },
});
