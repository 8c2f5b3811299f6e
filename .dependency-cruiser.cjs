// Layering, checked in CI (`npm run layering`). Folders are layers, bottom to top:
//   compute → ops → db → queues → alerts → workers → producers → apps
// A module imports only from its own layer or a lower one, and no folder cycle exists.
// compute is pure (no I/O): it imports nothing of ours outside itself and no node: module but crypto.
const LAYERS = ["compute", "ops", "db", "queues", "alerts", "workers", "producers", "apps"];

const upward = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `${layer}/ sits below ${LAYERS.slice(i + 1).join(", ") || "nothing"}: it may not import from them`,
  severity: "error",
  from: { path: `^${layer}/` },
  to: { path: `^(${LAYERS.slice(i + 1).join("|") || "$^"})/` },
})).filter((r) => r.to.path !== "^($^)/");

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "compute-is-pure",
      comment: "compute/ does no I/O: no database, network, file system, process or thread modules",
      severity: "error",
      from: { path: "^compute/" },
      to: { dependencyTypes: ["core"], path: "^(?!node:crypto$|crypto$)" },
    },
    {
      name: "compute-no-io-packages",
      comment: "compute/ does no I/O: no client libraries",
      severity: "error",
      from: { path: "^compute/" },
      to: { dependencyTypes: ["npm"], pathNot: "node_modules/zod/" },
    },
    {
      name: "platform-leaves",
      comment: "ops/config, ops/logger and ops/telemetry import nothing else of ours (telemetry: but its leaf modules)",
      severity: "error",
      from: { path: "^ops/(config|logger|telemetry)\\.ts$" },
      to: { path: "^(compute|db|queues|alerts|workers|producers|apps)/|^ops/(?!telemetry-(pg-exporter|sampling)\\.ts$|bounded-writer\\.ts$)" },
    },
    {
      name: "no-cycles",
      comment: "a module cycle makes the load order fragile",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycles",
      comment: "folders import each other one way only (workers/stage ↔ workers/signal would be a cycle)",
      severity: "error",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "tests-not-imported",
      comment: "shipped code never imports test or bench code",
      severity: "error",
      from: { path: "^(compute|ops|db|queues|alerts|workers|producers|apps)/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(\\.test-data|test-artifacts|data|docs)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js", ".mjs"] },
  },
};
