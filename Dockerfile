# syntax=docker/dockerfile:1
# One image for every Procfile process; the command picks the process (compose.yaml, ops/deploy/).
#
# No build step: the processes run TypeScript through tsx (`node --import tsx`, as the Procfile does), and
# tsx is a production dependency in package.json. Compiling instead would need an emitting tsconfig and
# rewritten `.ts` import specifiers (the project type-checks with `noEmit` and `allowImportingTsExtensions`),
# i.e. a second way to run the code that the tests never exercise.

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only, resolved exactly from the lock file. Native add-ons (msgpackr-extract,
# esbuild's platform binary) are installed here; the runtime stage copies the result.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
# Sources are owned by root and read-only to the process user: a compromised process cannot rewrite code.
COPY --chown=root:root . .
# The official image's unprivileged user (uid 1000). Kubernetes checks runAsNonRoot against the numeric id.
USER 1000:1000
# tsx caches compiled files under the temp dir; with a read-only root file system mount /tmp (ops/deploy does).
# Liveness of whichever process runs: worker/scheduler/bot answer on HEALTH_PORT (else PORT), web on WEB_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const p=process.env.HEALTH_PORT||process.env.PORT||process.env.WEB_PORT||3000;fetch('http://127.0.0.1:'+p+'/health/liveness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node as PID 1: SIGTERM goes straight to node, whose shutdown handler lets active jobs finish
# (no shell in between to swallow it). No ENTRYPOINT, so one-off commands run as given:
# `docker compose run --rm worker npm run enqueue -- …`.
CMD ["node", "--import", "tsx", "apps/web/main.ts"]
