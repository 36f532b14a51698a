import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Loads the `boot` entry first, `async`, from index.html's head: it starts the first state's call
 * while the app's bundle is still downloading and parsing (the bundle imports the same module,
 * so it runs once). A script file of our origin, so the CSP stays `script-src 'self'`.
 */
function bootFirst(): Plugin {
  return {
    name: 'lifeboat-boot-first',
    transformIndexHtml: {
      order: 'post',
      handler(html, context) {
        const boot = Object.values(context.bundle ?? {}).find((output) => output.type === 'chunk' && output.isEntry && output.name === 'boot');
        const entry = html.indexOf('<script type="module"');
        if (!boot || entry === -1) return html;
        // Just before the bundle's own tag: after the CSP meta, which applies to what follows it.
        return `${html.slice(0, entry)}<script type="module" async crossorigin src="./${boot.fileName}"></script>\n    ${html.slice(entry)}`;
      },
    },
  };
}

/** Builds the renderer once; the same bundle is loaded by Electron and by the browser twin. */
export default defineConfig({
  root: 'src/renderer',
  base: './',
  plugins: [react(), bootFirst()],
  build: {
    outDir: '../../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    rolldownOptions: {
      input: { index: 'src/renderer/index.html', boot: 'src/renderer/boot.ts' },
    },
  },
});
