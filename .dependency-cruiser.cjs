// The library's architecture as rules (issue 20): no import cycle, and data flowing down the layers
// below. A folder may import from its own layer and those under it; the few imports that climb
// are listed in `allowedClimbs`, each with its reason. Run by `npm run check:architecture` (CI).
const SRC = '^libs/integration-bus/src/';

/** The layers, lowest first: each entry is the folders (or root files) at that height. */
const layers = [
  ['enums', 'errors', 'runtime', 'interfaces', 'support', 'integration-bus\\.constants\\.ts', 'integration-bus\\.module-definition\\.ts'],
  ['metadata', 'subscriptions'],
  ['events'],
  ['persistence'],
  ['settings', 'translation'],
  ['connectors'],
  ['delivery'],
  ['outgoing', 'incoming'],
  ['integration-bus\\.service\\.ts'],
  ['relay', 'consumers'],
  ['management'],
  ['testing', 'integration-bus\\.module\\.ts', 'index\\.ts'],
];

/** Imports that climb a layer on purpose: `from` → `to` (path regular expressions), and why. */
const allowedClimbs = [];

const pathsOf = (entries) => `${SRC}(${entries.join('|')})(/|$)`;

const layerRules = layers.slice(0, -1).map((entries, i) => ({
  name: `layer-${entries[0].replace(/\\/g, '')}`,
  comment: `${entries.join(', ')} must not import from a layer above it`,
  severity: 'error',
  from: { path: pathsOf(entries) },
  to: {
    path: pathsOf(layers.slice(i + 1).flat()),
    pathNot: allowedClimbs.length ? allowedClimbs.map((c) => c.to) : undefined,
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle in the library',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    ...layerRules,
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'libs/integration-bus/tsconfig.build.json' },
    doNotFollow: { path: 'node_modules' },
    // The admin page's browser modules are a program of their own (tsconfig.client.json).
    exclude: { path: 'management/admin-page/client' },
  },
};
