// The layering of src/ (README, "Layout"), checked by `npm run lint:layers` inside `npm test`.
//
//   core ← store ← http ← domains ← server, cli
//   core ← statistics, training, client          (libraries)
//   client ← sdk
//
// Domains are the folders with a module.ts: artifacts, security, projects, tracking, data,
// jobs, trainer (and those still to come: registry, serving, monitoring, features, lineage…).
// A domain may use the libraries, http/, store/ and another domain's exported services, never
// another domain's routes or module. Biome's cycle rule covers cycles between files.
const DOMAINS = 'artifacts|security|projects|tracking|data|jobs|trainer|registry|serving|monitoring|features|pipelines|lineage';
const LIBRARIES = 'statistics|training|client';

/** src/<from>/ may import from src/ only what `allowed` lists (its own folder always). */
function only(name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `^src/(${from})/` },
    to: {
      path: '^src/',
      pathNot: [`^src/(${allowed})/`, `^src/$1/`],
    },
  };
}

module.exports = {
  forbidden: [
    only('core-is-the-bottom', 'core', 'core', 'core/ imports nothing else from src/.'),
    only('store-above-core', 'store', 'core', 'store/ (dialects, migrations) sits on core/ only.'),
    {
      name: 'migrations-import-no-live-code',
      comment: 'A released migration must keep doing what it did when released.',
      severity: 'error',
      from: { path: '^src/store/migrations/' },
      to: { path: '^src/', pathNot: ['^src/store/migrations/', '^src/store/dialects/', '^src/core/'] },
    },
    only(
      'libraries-are-pure',
      LIBRARIES,
      'core',
      'training/, statistics/ and client/ are libraries: they import only core/ (and themselves).',
    ),
    {
      name: 'http-imports-no-domain',
      comment:
        'http/ is the request kit below every domain. Bent on purpose for type-only imports: the ' +
        'services context (http/services.ts) names the types of the backends it carries (the ' +
        'artifact store and its reaper, the audit log, the keyring). They are erased at build, so ' +
        'http/ never loads a domain.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/', pathNot: ['^src/(http|store|core)/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'http-type-imports-only-backends',
      comment: 'The only domain types http/ may name are those of the backends in the services context.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/(http|store|core)/',
          '^src/artifacts/(artifact-store|blob-reaper)\\.ts$',
          '^src/security/audit/audit-log\\.ts$',
          '^src/security/secrets/keyring\\.ts$',
        ],
      },
    },
    {
      name: 'domains-below-the-top',
      comment: 'Domains never import server/, cli/ or sdk/ (they sit above every domain).',
      severity: 'error',
      from: { path: `^src/(${DOMAINS})/` },
      to: { path: '^src/(server|cli|sdk)/' },
    },
    {
      name: 'no-other-domains-routes',
      comment: "A domain uses another domain's services, never its routes or its module.",
      severity: 'error',
      from: { path: `^src/(${DOMAINS})/` },
      to: {
        path: [`^src/(${DOMAINS})/.*-routes?\\.ts$`, `^src/(${DOMAINS})/module\\.ts$`],
        pathNot: '^src/$1/',
      },
    },
    only('sdk-on-the-client', 'sdk', 'core|client', 'The SDK is the client with a typed face: client/ and core/ only.'),
    {
      name: 'server-assembles-only',
      comment: 'server/ assembles the modules; it is imported only by the CLI that starts it.',
      severity: 'error',
      from: { pathNot: '^src/(server|cli)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'cli-is-the-top',
      comment: 'Nothing imports the CLI.',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
