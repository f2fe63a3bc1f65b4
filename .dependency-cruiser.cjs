// The library's architecture as rules (issue 20): no import cycle, and data flowing down the layers
// below. A module may import from its own layer and those under it; the few imports that climb are
// listed in `allowedClimbs`, each with its reason. Run by `npm run check:architecture` (and CI).
const SRC = 'libs/integration-bus/src/';

/** The layers, lowest first: each entry is the folders (or files at the root) at that height. */
const layers = [
  [
    'enums',
    'errors',
    'runtime',
    'interfaces',
    'support',
    'integration-bus.constants.ts',
    'integration-bus.module-definition.ts',
  ],
  ['metadata', 'subscriptions'],
  ['events'],
  ['persistence'],
  ['settings', 'translation'],
  ['connectors'],
  ['delivery'],
  ['outgoing', 'incoming'],
  ['resync'],
  ['integration-bus.service.ts'],
  ['relay', 'consumers'],
  ['management'],
  ['testing', 'integration-bus.module.ts', 'index.ts'],
];

/** Imports that climb a layer on purpose (paths under the library's src/), and why. */
const allowedClimbs = [
  {
    from: 'incoming/intake-sequence.ts',
    to: 'relay/relay-message.ts',
    why: "the Bus-* header names are the relays' wire protocol; the intake reads the same names",
  },
];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pathsOf = (entries) => `^${escape(SRC)}(${entries.map(escape).join('|')})(/|$)`;
const inLayer = (entries, path) => entries.some((e) => path === e || path.startsWith(`${e}/`));

const layerRules = layers.slice(0, -1).map((entries, i) => {
  const allowed = allowedClimbs.filter((climb) => inLayer(entries, climb.from));
  const rule = {
    name: `layer-${entries[0].replace(/\.ts$/, '')}`,
    comment: `${entries.join(', ')} must not import from a layer above it`,
    severity: 'error',
    from: { path: pathsOf(entries) },
    to: { path: pathsOf(layers.slice(i + 1).flat()) },
  };
  // One rule per allowed climb's source, so that the exception covers that import and no other.
  return [
    { ...rule, from: { ...rule.from, pathNot: allowed.map((c) => `^${escape(SRC + c.from)}$`) } },
    ...allowed.map((c) => ({
      ...rule,
      name: `${rule.name}-except`,
      from: { path: `^${escape(SRC + c.from)}$` },
      to: { ...rule.to, pathNot: `^${escape(SRC + c.to)}$` },
    })),
  ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle in the library',
      severity: 'error',
      from: { path: `^${escape(SRC)}` },
      to: { circular: true },
    },
    ...layerRules.flat(),
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'libs/integration-bus/tsconfig.build.json' },
    doNotFollow: { path: 'node_modules' },
    // The admin page's browser modules are a program of their own (tsconfig.client.json).
    exclude: { path: 'management/admin-page/client' },
  },
};
