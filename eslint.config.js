// Type-aware lint: the rules that catch what tsc cannot — an unawaited promise in a processor, a promise
// where a callback expects void, an error swallowed without a word.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", ".test-data/**", "test-artifacts/**", "apps/web/dashboard/static/**", "workers/threads/thread-entry.mjs"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      // A swallowed error says why: an empty catch block or callback needs at least a comment.
      "no-empty": "error",
      "@typescript-eslint/no-empty-function": "error",
    },
  },
  {
    // Tests and benches stub callbacks on purpose (a fake sink, a no-op logger); production code may not.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-empty-function": "off" },
  },
);
