// Lint is where the architecture is enforced: a wrong import between layers is an error here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

const ipcOnlyInBridge = {
  name: 'electron',
  importNames: ['ipcMain', 'ipcRenderer'],
  message: 'Raw IPC lives only in src/main/electron/ipc-bridge.ts and src/preload/index.ts.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test/artifacts/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
      'no-restricted-imports': ['error', { paths: [ipcOnlyInBridge] }],
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins.map((name) => ({ name, message: 'The renderer never imports Node.' })), { name: 'electron', message: 'The renderer talks to the core only through lib/api.ts.' }],
        patterns: [{ group: ['**/main/**', '**/preload/**'], message: 'The renderer never imports src/main or src/preload; use src/shared and lib/api.ts.' }],
      }],
    },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins.map((name) => ({ name, message: 'src/shared runs on both sides: no Node.' })), { name: 'react', message: 'src/shared imports no React.' }, { name: 'electron', message: 'src/shared imports no Electron.' }],
        patterns: [{ group: ['**/main/**', '**/renderer/**', '**/preload/**'], message: 'src/shared imports neither side.' }],
      }],
    },
  },
  {
    files: ['src/main/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [ipcOnlyInBridge, { name: 'react', message: 'src/main never imports React.' }, { name: 'react-dom', message: 'src/main never imports React.' }, { name: 'zustand', message: 'zustand is the renderer\'s store.' }],
        patterns: [{ group: ['**/renderer/**'], message: 'src/main never imports the renderer.' }, { group: ['keytar'], message: 'keytar is wrapped by src/main/installations/secrets/keytar-store.ts only.' }, { group: ['fluent-ffmpeg'], message: 'fluent-ffmpeg is wrapped by src/main/formats/media/ffmpeg.ts only.' }],
      }],
    },
  },
  {
    // The wrappers are the one place their library is imported.
    files: ['src/main/installations/secrets/keytar-store.ts', 'src/main/formats/media/ffmpeg.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/main/electron/ipc-bridge.ts', 'src/preload/index.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
