// Lint is where the architecture is enforced: a wrong import between layers is an error here.
//
// The layering rules are a small local plugin (`lifeboat/*`, below) rather than
// no-restricted-imports: they see every way a module can be pulled in (static imports,
// re-exports, `import()`, `import('x').T` types, `import x = require()`, `require()`), and
// they resolve relative specifiers against the importing file, so `../../core`,
// `../../core.js` and `../../core/index` are all the same src/main/core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { builtinModules } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = import.meta.dirname;

// ---------------------------------------------------------------------------------------
// What an import is: one record per import site, whatever the syntax.

const nodeBuiltins = new Set(builtinModules);

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** The file's path from the repository root, with forward slashes. */
const repoPath = (filename) => path.relative(root, filename).split(path.sep).join('/');

/**
 * A relative specifier resolved against the importing file, as a module id from the
 * repository root with no extension and no trailing /index: `src/main/core`.
 */
function moduleIdOf(fromFile, spec) {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec)).replace(/\/+$/, '');
  return joined.replace(/\.(d\.ts|tsx?|[mc]?jsx?)$/, '').replace(/\/index$/, '');
}

/** The names an import() / require() result is used for, when the code says; null: any. */
function namesUsedFrom(node) {
  const keysOf = (pattern) => {
    if (pattern?.type !== 'ObjectPattern') return null;
    const keys = pattern.properties.map((p) => (p.type === 'Property' && !p.computed ? (p.key.name ?? p.key.value) : null));
    return keys.includes(null) ? null : keys;
  };
  const value = node.parent?.type === 'AwaitExpression' ? node.parent : node;
  const use = value.parent;
  // const { a, b } = await import('x')
  if (use?.type === 'VariableDeclarator' && use.init === value) return keysOf(use.id);
  if (use?.type === 'MemberExpression' && use.object === value && !use.computed) {
    // import('x').then(({ a, b }) => …)
    if (use.property.name === 'then' && value === node) {
      const callback = use.parent?.type === 'CallExpression' && use.parent.callee === use ? use.parent.arguments[0] : undefined;
      return callback && (callback.type === 'ArrowFunctionExpression' || callback.type === 'FunctionExpression') ? keysOf(callback.params[0]) : null;
    }
    // (await import('x')).a
    return [use.property.name];
  }
  return null;
}

const literalOf = (node) => {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return undefined;
};

/**
 * Builds a rule from `check(imp)`, which returns `{ messageId, data? }` for a forbidden
 * import or nothing. `imp` is { spec, kind, names, typeOnly, node, pkg, node builtin?, id }:
 * `pkg` is set for a bare specifier, `id` (see moduleIdOf) for a relative one, and
 * `names` is the list of imported names or null when it is the whole module.
 */
function importRule(description, messages, check) {
  return {
    meta: { type: 'problem', docs: { description }, schema: [], messages },
    create(context) {
      const from = repoPath(context.filename);
      const visit = (node, sourceNode, kind, names, typeOnly = false) => {
        const spec = literalOf(sourceNode);
        if (spec === undefined) return;
        const relative = spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..';
        const imp = {
          spec, kind, names, typeOnly, from,
          pkg: relative ? undefined : packageOf(spec),
          nodeBuiltin: !relative && (spec.startsWith('node:') || nodeBuiltins.has(spec) || nodeBuiltins.has(packageOf(spec))),
          id: relative ? moduleIdOf(from, spec) : undefined,
        };
        const problem = check(imp);
        if (problem) context.report({ node, messageId: problem.messageId, data: { spec, from, ...problem.data } });
      };
      const specifierNames = (specifiers) =>
        specifiers.some((s) => s.type === 'ImportNamespaceSpecifier')
          ? null
          : specifiers.map((s) => (s.type === 'ImportDefaultSpecifier' ? 'default' : (s.imported?.name ?? s.imported?.value ?? s.local.name)));
      return {
        ImportDeclaration: (node) =>
          visit(node, node.source, 'static', specifierNames(node.specifiers), node.importKind === 'type' || (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type'))),
        ExportNamedDeclaration: (node) => node.source && visit(node, node.source, 'static', node.specifiers.map((s) => s.local.name ?? s.local.value), node.exportKind === 'type'),
        ExportAllDeclaration: (node) => visit(node, node.source, 'static', null, node.exportKind === 'type'),
        ImportExpression: (node) => visit(node, node.source, 'dynamic', namesUsedFrom(node)),
        TSImportType: (node) => {
          let q = node.qualifier;
          while (q?.type === 'TSQualifiedName') q = q.left;
          visit(node, node.source ?? node.argument?.literal, 'type', q ? [q.name] : null, true);
        },
        TSImportEqualsDeclaration: (node) =>
          node.moduleReference.type === 'TSExternalModuleReference' && visit(node, node.moduleReference.expression, 'require', null, node.importKind === 'type'),
        CallExpression: (node) => {
          if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) visit(node, node.arguments[0], 'require', namesUsedFrom(node));
        },
      };
    },
  };
}

const inside = (id, dir) => id !== undefined && (id === dir || id.startsWith(`${dir}/`));
const isReact = (imp) => imp.pkg === 'react' || imp.pkg === 'react-dom';

// ---------------------------------------------------------------------------------------
// The rules.

const rendererBoundary = importRule(
  'src/renderer imports neither Node, Electron, src/main nor src/preload',
  {
    node: "The renderer never imports Node: '{{spec}}'. It runs in a sandboxed page; ask the core through lib/api.ts.",
    electron: "The renderer talks to the core only through lib/api.ts: '{{spec}}'.",
    side: "The renderer never imports src/main or src/preload; use src/shared and lib/api.ts: '{{spec}}' resolves to {{id}}.",
  },
  (imp) => {
    if (imp.nodeBuiltin) return { messageId: 'node' };
    if (imp.pkg === 'electron') return { messageId: 'electron' };
    if (inside(imp.id, 'src/main') || inside(imp.id, 'src/preload')) return { messageId: 'side', data: { id: imp.id } };
  },
);

const sharedBoundary = importRule(
  'src/shared imports neither side, nor Node, React or Electron',
  {
    node: "src/shared runs on both sides: no Node ('{{spec}}').",
    react: "src/shared imports no React ('{{spec}}').",
    electron: "src/shared imports no Electron ('{{spec}}').",
    side: "src/shared imports neither side: '{{spec}}' resolves to {{id}}.",
  },
  (imp) => {
    if (imp.nodeBuiltin) return { messageId: 'node' };
    if (isReact(imp)) return { messageId: 'react' };
    if (imp.pkg === 'electron') return { messageId: 'electron' };
    if (['src/main', 'src/renderer', 'src/preload'].some((dir) => inside(imp.id, dir))) return { messageId: 'side', data: { id: imp.id } };
  },
);

const mainBoundary = importRule(
  'src/main imports neither React, the renderer\'s store, the renderer nor the preload',
  {
    react: "src/main never imports React ('{{spec}}'): react, react/*, react-dom and react-dom/* are the renderer's.",
    zustand: "zustand is the renderer's store ('{{spec}}').",
    side: "src/main never imports the renderer or the preload: '{{spec}}' resolves to {{id}}.",
  },
  (imp) => {
    if (isReact(imp)) return { messageId: 'react' };
    if (imp.pkg === 'zustand') return { messageId: 'zustand' };
    if (inside(imp.id, 'src/renderer') || inside(imp.id, 'src/preload')) return { messageId: 'side', data: { id: imp.id } };
  },
);

// The preload is a sandboxed script: it can require only 'electron', and it exposes the
// contract as window.lifeboat and nothing else. webUtils is how the bridge's pathForFile
// turns a dropped File into a path (File.path is gone since Electron 32).
const preloadElectron = new Set(['contextBridge', 'ipcRenderer', 'webUtils']);
const preloadBoundary = importRule(
  'src/preload imports only electron\'s bridge APIs and src/shared',
  {
    electron: "src/preload uses only electron's {{allowed}} ('{{spec}}' {{what}}).",
    other: "src/preload exposes the contract as window.lifeboat and nothing else: it imports only electron's {{allowed}} and src/shared, not '{{spec}}'.",
  },
  (imp) => {
    const allowed = [...preloadElectron].join(', ');
    if (imp.pkg === 'electron') {
      if (imp.typeOnly) return;
      const extra = imp.names === null ? null : imp.names.filter((n) => !preloadElectron.has(n));
      if (extra === null) return { messageId: 'electron', data: { allowed, what: 'imports the whole module' } };
      if (extra.length > 0) return { messageId: 'electron', data: { allowed, what: `imports ${extra.join(', ')}` } };
      return;
    }
    if (inside(imp.id, 'src/shared') || inside(imp.id, 'src/preload')) return;
    return { messageId: 'other', data: { allowed } };
  },
);

// An app module (src/main/apps/<x>/) is plugged into the core through the interfaces at the
// apps root; it never reaches back into the core. module-kit/ is the helpers modules share:
// apps may import it, and it obeys the same rule (so nothing reaches the core through it).
const appsRoot = 'src/main/apps';
const appRootFilesAllowed = new Set(['adapter', 'module']);
const sharedAppFolders = new Set(['module-kit']);
const appBoundary = importRule(
  "an app's folder never imports the core, the restore engine, the contract, the CLI, another app, or the apps root's machinery",
  {
    core: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' resolves to src/main/core. The core calls the module through the interfaces in apps/adapter.ts and apps/module.ts; take what you need as a parameter.",
    restore: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' resolves to {{id}} (the restore engine drives the module, not the other way round).",
    contract: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' resolves to {{id}} (the contract is the UI's API; a module speaks through apps/adapter.ts and apps/module.ts).",
    cli: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' resolves to {{id}} (the CLI is a front end over the core).",
    otherApp: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' from apps/{{app}}/ resolves into apps/{{other}}/. Move what both need to src/main/formats, src/main/transport, src/shared or apps/module-kit/.",
    appsRoot: "An app's folder never imports the core, the restore engine or another app: '{{spec}}' resolves to apps/{{file}}.ts, the generic machinery that drives modules. From the apps root an app imports only {{allowed}}.",
  },
  (imp) => {
    const app = /^src\/main\/apps\/([^/]+)\//.exec(imp.from)?.[1];
    if (imp.id === undefined || app === undefined) return;
    const { id } = imp;
    if (inside(id, 'src/main/core')) return { messageId: 'core' };
    if (inside(id, 'src/main/restore')) return { messageId: 'restore', data: { id } };
    if (inside(id, 'src/main/contract')) return { messageId: 'contract', data: { id } };
    if (inside(id, 'src/main/cli')) return { messageId: 'cli', data: { id } };
    if (!inside(id, appsRoot)) return;
    const rest = id.slice(appsRoot.length + 1);
    const [first, ...deeper] = rest.split('/');
    const allowed = `${[...appRootFilesAllowed].map((f) => `${f}.ts`).join(', ')} and ${[...sharedAppFolders].map((f) => `${f}/`).join(', ')}`;
    if (deeper.length === 0 && appRootFilesAllowed.has(first)) return;
    // `apps/x` with nothing deeper is the root file x.ts when there is one, else folder x/index.
    const isRootFile = rest === '' || (deeper.length === 0 && ['ts', 'tsx'].some((ext) => existsSync(path.join(root, appsRoot, `${first}.${ext}`))));
    if (isRootFile) return { messageId: 'appsRoot', data: { file: first || 'index', allowed } };
    if (first === app || sharedAppFolders.has(first)) return;
    return { messageId: 'otherApp', data: { app, other: first } };
  },
);

// Wrapped libraries: one module imports the library, everything else imports the module.
const wrappers = {
  keytar: 'src/main/installations/secrets/keytar-store.ts',
  'fluent-ffmpeg': 'src/main/formats/media/ffmpeg.ts',
};
const wrappedLibrary = importRule(
  'a wrapped library is imported only by its wrapper',
  { wrapped: "{{pkg}} is wrapped by {{wrapper}} only ('{{spec}}'); import the wrapper." },
  (imp) => {
    const wrapper = wrappers[imp.pkg];
    if (wrapper && imp.from !== wrapper) return { messageId: 'wrapped', data: { pkg: imp.pkg, wrapper } };
  },
);

// Raw IPC: the two ends of the one bridge. A require('electron') is not checked: in plain
// Node (scripts/) it is the Electron binary's path, and src/ does not use require().
const rawIpc = new Set(['ipcMain', 'ipcRenderer']);
const ipcOnlyInBridge = importRule(
  'ipcMain and ipcRenderer are imported only by the IPC bridge',
  { ipc: "Raw IPC lives only in src/main/electron/ipc-bridge.ts and src/preload/index.ts ('{{spec}}' {{what}})." },
  (imp) => {
    if (imp.pkg !== 'electron' || imp.typeOnly) return;
    if (imp.names === null) return imp.kind === 'require' ? undefined : { messageId: 'ipc', data: { what: 'imports the whole module' } };
    const raw = imp.names.filter((n) => rawIpc.has(n));
    if (raw.length > 0) return { messageId: 'ipc', data: { what: `imports ${raw.join(', ')}` } };
  },
);

const literalImports = {
  meta: {
    type: 'problem',
    docs: { description: 'import() and require() in src/ take a string literal, so the layering rules can check them' },
    schema: [],
    messages: { computed: 'The layering rules cannot check a computed module specifier: give import()/require() a string literal.' },
  },
  create(context) {
    return {
      ImportExpression: (node) => literalOf(node.source) === undefined && context.report({ node, messageId: 'computed' }),
      CallExpression: (node) =>
        node.callee.type === 'Identifier' && node.callee.name === 'require' && literalOf(node.arguments[0]) === undefined && context.report({ node, messageId: 'computed' }),
    };
  },
};

const lifeboat = {
  meta: { name: 'lifeboat-layering' },
  rules: {
    'renderer-boundary': rendererBoundary,
    'shared-boundary': sharedBoundary,
    'main-boundary': mainBoundary,
    'preload-boundary': preloadBoundary,
    'app-boundary': appBoundary,
    'wrapped-library': wrappedLibrary,
    'ipc-only-in-bridge': ipcOnlyInBridge,
    'literal-imports': literalImports,
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test/artifacts/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { lifeboat },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
      'lifeboat/ipc-only-in-bridge': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'lifeboat/literal-imports': 'error',
      'lifeboat/wrapped-library': 'error',
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'lifeboat/renderer-boundary': 'error',
      // renderer-boundary already forbids all of electron.
      'lifeboat/ipc-only-in-bridge': 'off',
    },
  },
  {
    files: ['src/shared/**'],
    rules: { 'lifeboat/shared-boundary': 'error' },
  },
  {
    files: ['src/main/**'],
    rules: { 'lifeboat/main-boundary': 'error' },
  },
  {
    files: ['src/main/apps/*/**'],
    rules: { 'lifeboat/app-boundary': 'error' },
  },
  {
    files: ['src/preload/**'],
    rules: { 'lifeboat/preload-boundary': 'error' },
  },
  {
    files: ['src/main/electron/ipc-bridge.ts', 'src/preload/index.ts'],
    rules: { 'lifeboat/ipc-only-in-bridge': 'off' },
  },
);
