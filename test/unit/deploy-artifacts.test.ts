// The deploy artifacts against the code they deploy. No cluster or Docker daemon here, so every claim the
// Dockerfile, compose.yaml and ops/deploy/ make about the fleet is read from the code at test time: the
// Procfile's processes and commands, ops/config.ts's schema, defaults and SECRET_KEYS, ops/health.ts's probe
// routes, the metric names apps/web/prometheus.ts serves and the queues of queues/registry.ts. Each check
// returns its problems, so the last block proves on mutated copies that the checks bite.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { isLoopback } from "../../apps/web/auth.ts";
import { prometheusRegistry } from "../../apps/web/prometheus.ts";
import { CONFIG_KEYS, parseConfig, SECRET_KEYS, type Config } from "../../ops/config.ts";
import { answerProbe, type Probe, type ProbeChecks } from "../../ops/health.ts";
import { readProcfile, RELEASE } from "../../ops/supervisor/procfile.ts";
import { QUEUE_STATES } from "../../queues/queue-depth.ts";
import { KINDS, KIND_NAMES } from "../../queues/registry.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const DEPLOY = resolve(ROOT, "ops/deploy");
const read = (path: string) => readFileSync(resolve(ROOT, path), "utf8");

// Variables an artifact sets that ops/config.ts does not read: compose hands this one to the PostgreSQL
// container as a secret (compose.yaml `secrets:`); no fleet process reads it.
const NOT_CONFIG = new Set(["POSTGRES_PASSWORD"]);
// Without these the process starts the embedded local stack inside its container instead of failing.
const REQUIRED_SECRETS = ["DATABASE_URL", "REDIS_URL"];
const DEFAULTS = parseConfig({});
const LONG_RUNNING = ["web", "worker", "scheduler", "bot"] as const;

// ---- the code's side ------------------------------------------------------------------------------

const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string>; dependencies: Record<string, string> };
const procfile = readProcfile(resolve(ROOT, "Procfile"));

/** A Procfile command as the argv a container must run: `npm run x` resolved, the shell's `exec` dropped. */
function procfileArgv(type: string): string[] {
  const command = procfile.get(type)!;
  const script = /^npm run (\S+)$/.exec(command)?.[1];
  if (script !== undefined && pkg.scripts[script] === undefined) throw new Error(`Procfile ${type}: no npm script ${script}`);
  return (script === undefined ? command : pkg.scripts[script]!).replace(/^exec\s+/, "").split(/\s+/);
}

/** The probe a path reaches on any fleet process (web's app and the health servers share answerProbe). */
async function probeAt(path: string): Promise<Probe | undefined> {
  const tagged = (probe: Probe) => ({ [probe]: async () => ({ ok: true }) });
  const probes: ProbeChecks = { liveness: tagged("liveness"), readiness: tagged("readiness"), startup: tagged("startup") };
  const answer = await answerProbe(path, probes);
  return answer ? (Object.keys(answer.body.details.checks)[0] as Probe) : undefined;
}

/** Metric names /metrics serves, from the web process's registry itself (no scrape needed to list them). */
function servedMetrics(): Set<string> {
  const registry = prometheusRegistry({ queues: () => [], db: { query: () => Promise.reject(new Error("not scraped")) } as never });
  return new Set(
    registry.getMetricsAsArray().flatMap((m) => {
      const { name, type } = m as unknown as { name: string; type: string };
      return type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    }),
  );
}

/** How far past WORKER_SHUTDOWN_MS a process forces its exit (apps/bootstrap.ts installShutdown). */
function forcedExitMarginMs(): number {
  const m = /timeoutMs:\s*cfg\.WORKER_SHUTDOWN_MS\s*\+\s*([\d_]+)/.exec(read("apps/bootstrap.ts"));
  if (!m) throw new Error("apps/bootstrap.ts: cannot find the shutdown bound (timeoutMs: cfg.WORKER_SHUTDOWN_MS + N); update this test");
  return Number(m[1]!.replaceAll("_", ""));
}

// ---- Kubernetes manifests -------------------------------------------------------------------------

type Obj = Record<string, unknown>;
interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1 Deployment": Deployment,
  "batch/v1 Job": Job,
  "v1 ConfigMap": ConfigMap,
  "v1 Service": Service,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
  "keda.sh/v1alpha1 ScaledObject": ScaledObject,
};

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DEPLOY).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()) {
    for (const doc of parseAllDocuments(readFileSync(resolve(DEPLOY, file), "utf8"))) {
      if (doc.errors.length) throw new Error(`ops/deploy/${file}: ${doc.errors[0]!.message}`, { cause: doc.errors[0] });
      const value = doc.toJS() as Manifest | null;
      if (value) out.push({ ...value, file });
    }
  }
  return out;
}

const component = (m: Manifest) => m.metadata.labels?.["app.kubernetes.io/component"] ?? "";
const podSpec = (m: Manifest) => ((m.spec?.template as Obj | undefined)?.spec ?? { containers: [] }) as PodSpec;
const workloads = (ms: Manifest[]) => ms.filter((m) => m.kind === "Deployment" || m.kind === "Job");
const podLabels = (m: Manifest) => ((m.spec?.template as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {});
const where = (m: Manifest, c?: Container) => `${m.file} ${m.kind}/${m.metadata.name}${c ? ` container ${c.name}` : ""}`;

// Stand-ins for secret values, one of which each secret variable's schema accepts: a required secretKeyRef
// counts as set when the container's config is parsed (an optional one as unset, the worst case).
const SECRET_STAND_INS = ["redis://stand-in:6379", "postgres://stand-in/db", "1:stand-in", "stand-in-secret-value"];
function secretStandIn(key: string): string {
  const fits = SECRET_STAND_INS.find((v) => {
    try {
      parseConfig({ [key]: v });
      return true;
    } catch {
      // Not this variable's shape: try the next.
      return false;
    }
  });
  if (fits === undefined) throw new Error(`no stand-in value fits secret ${key}; add one to SECRET_STAND_INS`);
  return fits;
}

/** What a container's process sees: its ConfigMaps (envFrom), overlaid by its own env (secrets as stand-ins). */
function containerEnv(ms: Manifest[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = ms.find((m) => m.kind === "ConfigMap" && m.metadata.name === from.configMapRef?.name);
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref && !ref.optional) env[e.name] = secretStandIn(e.name);
  }
  return env;
}

/** Every variable name a manifest sets: ConfigMap keys and container env names. */
function envProblems(ms: Manifest[]): string[] {
  const problems: string[] = [];
  const known = (name: string) => CONFIG_KEYS.includes(name);
  for (const m of ms.filter((x) => x.kind === "ConfigMap")) {
    for (const key of Object.keys(m.data ?? {})) if (!known(key)) problems.push(`${where(m)}: ${key} is not a variable of ops/config.ts`);
  }
  for (const w of workloads(ms)) {
    for (const c of podSpec(w).containers) {
      for (const e of c.env ?? []) if (!known(e.name)) problems.push(`${where(w, c)}: ${e.name} is not a variable of ops/config.ts`);
      for (const from of c.envFrom ?? []) {
        if (from.secretRef) problems.push(`${where(w, c)}: envFrom secretRef hides which secrets it sets; use one secretKeyRef per variable`);
        if (from.configMapRef && !ms.some((m) => m.kind === "ConfigMap" && m.metadata.name === from.configMapRef!.name)) {
          problems.push(`${where(w, c)}: ConfigMap ${from.configMapRef.name} is not in ops/deploy`);
        }
      }
      try {
        parseConfig(containerEnv(ms, c));
      } catch (err) {
        problems.push(`${where(w, c)}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

function secretProblems(ms: Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of ms.filter((x) => x.kind === "ConfigMap")) {
    for (const key of Object.keys(m.data ?? {})) if (SECRET_KEYS.has(key)) problems.push(`${where(m)}: secret ${key} in a ConfigMap`);
  }
  for (const w of workloads(ms)) {
    for (const c of podSpec(w).containers) {
      const env = c.env ?? [];
      for (const e of env) {
        const ref = e.valueFrom?.secretKeyRef;
        if (SECRET_KEYS.has(e.name) && !ref) problems.push(`${where(w, c)}: secret ${e.name} must come from a secretKeyRef`);
        if (ref && !SECRET_KEYS.has(ref.key)) problems.push(`${where(w, c)}: ${e.name} reads secret key ${ref.key}, which SECRET_KEYS does not list`);
        if (ref && ref.key !== e.name) problems.push(`${where(w, c)}: ${e.name} reads secret key ${ref.key}; keep variable and key the same`);
      }
      for (const name of REQUIRED_SECRETS) {
        const ref = env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) problems.push(`${where(w, c)}: ${name} must be a required secretKeyRef (unset starts the embedded stack)`);
      }
    }
  }
  // A non-loopback WEB_HOST without credentials makes the web process refuse to start (apps/web/auth.ts).
  for (const w of workloads(ms).filter((x) => component(x) === "web")) {
    for (const c of podSpec(w).containers) {
      const creds = (c.env ?? []).filter((e) => (e.name === "BOARD_PASSWORD" || e.name === "BOARD_TOKEN") && e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional);
      if (!creds.length) problems.push(`${where(w, c)}: needs BOARD_PASSWORD or BOARD_TOKEN as a required secretKeyRef`);
    }
  }
  return problems;
}

/** The port a container's processes listen on, per the code: web on WEB_PORT, the others on HEALTH_PORT. */
function servedPort(type: string, cfg: Config): number | undefined {
  return type === "web" ? cfg.WEB_PORT : (cfg.HEALTH_PORT ?? cfg.PORT);
}

async function probeProblems(ms: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const d of ms.filter((x) => x.kind === "Deployment")) {
    const type = component(d);
    for (const c of podSpec(d).containers) {
      const cfg = parseConfig(containerEnv(ms, c));
      const port = servedPort(type, cfg);
      if (port === undefined) problems.push(`${where(d, c)}: sets neither HEALTH_PORT nor PORT, so it serves no probes`);
      else if (type !== "web" && port !== DEFAULTS[`HEALTH_PORT_${type.toUpperCase()}` as "HEALTH_PORT_WORKER"]) {
        problems.push(`${where(d, c)}: HEALTH_PORT ${port} differs from HEALTH_PORT_${type.toUpperCase()}'s default (the port \`npm start\` gives it)`);
      }
      if (isLoopback(cfg.WEB_HOST)) problems.push(`${where(d, c)}: WEB_HOST ${cfg.WEB_HOST} is loopback; the kubelet cannot reach the probes`);
      for (const probe of ["startup", "readiness", "liveness"] as const) {
        const get = c[`${probe}Probe`]?.httpGet;
        if (!get) {
          problems.push(`${where(d, c)}: no ${probe}Probe httpGet`);
          continue;
        }
        const reached = await probeAt(get.path);
        if (reached !== probe) problems.push(`${where(d, c)}: ${probe}Probe path ${get.path} reaches ${reached ?? "no probe route"}`);
        const probePort = typeof get.port === "number" ? get.port : c.ports?.find((p) => p.name === get.port)?.containerPort;
        if (probePort !== port) problems.push(`${where(d, c)}: ${probe}Probe port ${String(get.port)} is ${probePort}, the process listens on ${port}`);
      }
    }
  }
  return problems;
}

function graceProblems(ms: Manifest[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(ms)) {
    const spec = podSpec(w);
    for (const c of spec.containers) {
      const bound = parseConfig(containerEnv(ms, c)).WORKER_SHUTDOWN_MS + forcedExitMarginMs();
      const grace = spec.terminationGracePeriodSeconds;
      if (grace === undefined || grace * 1000 <= bound) problems.push(`${where(w, c)}: terminationGracePeriodSeconds ${grace} must exceed the shutdown bound ${bound} ms`);
    }
  }
  return problems;
}

const SELECTOR = /([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g;
const MATCHER = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g;
const workerQueues = (ms: Manifest[], d: Manifest) => podSpec(d).containers.map((c) => parseConfig(containerEnv(ms, c)).WORKER_QUEUES);

function kedaProblems(ms: Manifest[], served: Set<string>): string[] {
  const problems: string[] = [];
  const workers = ms.filter((m) => m.kind === "Deployment" && component(m) === "worker");
  for (const so of ms.filter((m) => m.kind === "ScaledObject")) {
    const target = workers.find((d) => d.metadata.name === (so.spec?.scaleTargetRef as { name?: string }).name);
    if (!target) {
      problems.push(`${where(so)}: scaleTargetRef is not a worker Deployment`);
      continue;
    }
    const queues = workerQueues(ms, target)[0];
    if (queues?.length !== 1) problems.push(`${where(target)}: a scaled worker consumes one queue (WORKER_QUEUES), got ${JSON.stringify(queues)}`);
    const triggers = (so.spec?.triggers ?? []) as Array<{ type: string; metadata: { query?: string } }>;
    if (!triggers.length) problems.push(`${where(so)}: no trigger`);
    for (const t of triggers) {
      if (t.type !== "prometheus" || !t.metadata.query) {
        problems.push(`${where(so)}: trigger ${t.type} is not a Prometheus query`);
        continue;
      }
      const selectors = [...t.metadata.query.matchAll(SELECTOR)];
      if (!selectors.length) problems.push(`${where(so)}: query has no metric selector`);
      for (const [, metric, body] of selectors) {
        if (!served.has(metric!)) problems.push(`${where(so)}: ${metric} is not served on /metrics`);
        const labels = Object.fromEntries([...body!.matchAll(MATCHER)].map(([, l, op, v]) => [l, { op, v }]));
        const queue = labels.queue;
        if (queue?.op !== "=" || queue.v !== KINDS[queues?.[0] as keyof typeof KINDS]?.name) {
          problems.push(`${where(so)}: selects queue ${JSON.stringify(queue?.v)}, its Deployment consumes ${JSON.stringify(queues)}`);
        }
        const states = labels.state?.op === "=~" ? labels.state.v.split("|") : [labels.state?.v];
        if ([...states].sort().join() !== "active,waiting") problems.push(`${where(so)}: states ${JSON.stringify(states)} are not waiting + active`);
        for (const s of states) if (!(QUEUE_STATES as readonly (string | undefined)[]).includes(s)) problems.push(`${where(so)}: ${s} is not a state of ta_fleet_queue_jobs`);
      }
    }
  }
  for (const d of workers) {
    if (!ms.some((m) => m.kind === "ScaledObject" && (m.spec?.scaleTargetRef as { name?: string }).name === d.metadata.name)) problems.push(`${where(d)}: no ScaledObject`);
  }
  return problems;
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Boolean(selector && Object.keys(selector).length && Object.entries(selector).every(([k, v]) => labels[k] === v));

describe("ops/deploy (Kubernetes)", () => {
  const manifests = loadManifests();

  it("kustomization.yaml lists every manifest file", () => {
    const k = parse(readFileSync(resolve(DEPLOY, "kustomization.yaml"), "utf8")) as { resources: string[] };
    const files = readdirSync(DEPLOY).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it("every manifest validates against the Kubernetes and KEDA schemas", () => {
    expect(manifests.length).toBeGreaterThan(10);
    const invalid: string[] = [];
    for (const m of manifests) {
      const { file, ...data } = m;
      const Model = MODELS[`${m.apiVersion} ${m.kind}`];
      if (!Model) {
        invalid.push(`${file}: no schema for ${m.apiVersion} ${m.kind}`);
        continue;
      }
      try {
        new Model(data as never).validate();
      } catch (err) {
        invalid.push(`${where(m)}: ${(err as Error).message}`);
      }
    }
    expect(invalid).toEqual([]);
  });

  it("every Procfile process has its workload running the Procfile's command", () => {
    const byType = new Map<string, Manifest[]>();
    for (const w of workloads(manifests)) byType.set(component(w), [...(byType.get(component(w)) ?? []), w]);
    expect([...byType.keys()].sort()).toEqual([...procfile.keys()].sort());
    for (const [type, ws] of byType) {
      for (const w of ws) {
        expect(w.kind, where(w)).toBe(type === RELEASE ? "Job" : "Deployment");
        for (const c of podSpec(w).containers) expect([...(c.command ?? []), ...(c.args ?? [])], where(w, c)).toEqual(procfileArgv(type));
        if (w.kind === "Deployment") expect(selects((w.spec?.selector as { matchLabels?: Record<string, string> }).matchLabels, podLabels(w)), where(w)).toBe(true);
      }
    }
  });

  it("the worker Deployments consume every queue between them, each with a PodDisruptionBudget, replicas left to KEDA", () => {
    const workers = manifests.filter((m) => m.kind === "Deployment" && component(m) === "worker");
    const consumed = workers.flatMap((d) => workerQueues(manifests, d).flatMap((q) => q ?? [...KIND_NAMES]));
    expect([...consumed].sort()).toEqual([...KIND_NAMES].sort());
    for (const d of workers) {
      expect(d.spec?.replicas, where(d)).toBeUndefined();
      const pdbs = manifests.filter((m) => m.kind === "PodDisruptionBudget" && selects((m.spec?.selector as { matchLabels?: Record<string, string> }).matchLabels, podLabels(d)));
      expect(pdbs.map((p) => p.metadata.name), where(d)).toHaveLength(1);
    }
  });

  it("the web Service reaches the web containers' port", () => {
    const svc = manifests.find((m) => m.kind === "Service")!;
    const web = manifests.find((m) => m.kind === "Deployment" && component(m) === "web")!;
    expect(selects(svc.spec?.selector as Record<string, string>, podLabels(web))).toBe(true);
    const target = (svc.spec?.ports as Array<{ targetPort: string | number }>)[0]!.targetPort;
    const c = podSpec(web).containers[0]!;
    const port = typeof target === "number" ? target : c.ports?.find((p) => p.name === target)?.containerPort;
    expect(port).toBe(parseConfig(containerEnv(manifests, c)).WEB_PORT);
  });

  it("probes use the code's routes on the ports the processes listen on", async () => {
    expect(await probeProblems(manifests)).toEqual([]);
  });

  it("sets only variables of ops/config.ts, with values it accepts", () => {
    expect(envProblems(manifests)).toEqual([]);
  });

  it("takes every secret from a secretKeyRef, never a value", () => {
    expect(secretProblems(manifests)).toEqual([]);
  });

  it("gives every pod a grace period above the process's shutdown bound", () => {
    expect(graceProblems(manifests)).toEqual([]);
  });

  it("scales each worker Deployment with KEDA on its queue's waiting + active jobs, by metric names /metrics serves", () => {
    expect(kedaProblems(manifests, servedMetrics())).toEqual([]);
  });
});

// ---- compose.yaml ---------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  deploy?: { replicas?: number };
  restart?: string;
}
const compose = parse(read("compose.yaml"), { merge: true }) as { services: Record<string, ComposeService>; secrets?: Record<string, { environment?: string }> };
const fleetServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
const seconds = (d: string | undefined) => {
  const m = /^(\d+)(s|m)$/.exec(d ?? "");
  return m ? Number(m[1]) * (m[2] === "m" ? 60 : 1) : 0;
};
const envFileKeys = (text: string) => text.split("\n").map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l.trim())?.[1]).filter((k): k is string => k !== undefined);

/** The URL path and the port fallback of a healthcheck one-liner (`…||process.env.WEB_PORT||3000;fetch(…/health/x)`). */
function healthcheckTarget(command: string): { path?: string; fallbackPort?: number; ports: string[] } {
  return {
    path: /(\/health\/[a-z]+)/.exec(command)?.[1],
    fallbackPort: Number(/\|\|(\d+)\s*;/.exec(command)?.[1]),
    ports: [...command.matchAll(/process\.env\.([A-Z_]+)/g)].map((m) => m[1]!),
  };
}

describe("compose.yaml", () => {
  it("has a service per Procfile process running its command, all from the Dockerfile's image", () => {
    expect(fleetServices.map(([name]) => name).sort()).toEqual([...procfile.keys()].sort());
    for (const [name, s] of fleetServices) expect(s.command, name).toEqual(procfileArgv(name));
  });

  it("runs release once before the others, scales workers, keeps Redis on AOF with noeviction", () => {
    const { release, worker, redis } = compose.services;
    expect(release!.restart).toBe("no");
    for (const type of LONG_RUNNING) expect(compose.services[type]!.depends_on?.release?.condition, type).toBe("service_completed_successfully");
    expect(worker!.deploy?.replicas).toBeGreaterThan(1);
    expect(redis!.command?.join(" ")).toMatch(/--appendonly yes/);
    expect(redis!.command?.join(" ")).toMatch(/--maxmemory-policy noeviction/);
  });

  it("sets only variables of ops/config.ts, no secret inline; secrets come from the env file", () => {
    const example = envFileKeys(read("ops/deploy/compose.env.example"));
    expect(example.filter((k) => !CONFIG_KEYS.includes(k) && !NOT_CONFIG.has(k))).toEqual([]);
    expect(example).toEqual(expect.arrayContaining([...REQUIRED_SECRETS, "BOARD_PASSWORD"]));
    for (const [name, s] of fleetServices) {
      const keys = Object.keys(s.environment ?? {});
      expect(keys.filter((k) => !CONFIG_KEYS.includes(k)), name).toEqual([]);
      expect(keys.filter((k) => SECRET_KEYS.has(k)), name).toEqual([]);
      expect(s.env_file, name).toBe(".env");
      expect(() => parseConfig(s.environment ?? {}), name).not.toThrow();
    }
    // PostgreSQL's password is a compose secret, not an environment value.
    expect(Object.keys(compose.services.postgres!.environment ?? {})).not.toContain("POSTGRES_PASSWORD");
    expect(compose.secrets?.postgres_password?.environment).toBe("POSTGRES_PASSWORD");
  });

  it("health-checks each long-running process on its readiness route and port; stops it within its bound", async () => {
    for (const type of LONG_RUNNING) {
      const s = compose.services[type]!;
      const target = healthcheckTarget(s.healthcheck?.test?.join(" ") ?? "");
      expect(await probeAt(target.path ?? ""), type).toBe("readiness");
      const env = s.environment ?? {};
      const cfg = parseConfig(env);
      // The port the one-liner asks (its first variable set, else its fallback) is the one the process listens on.
      const asked = Number(target.ports.map((v) => env[v]).find(Boolean) ?? target.fallbackPort);
      expect(asked, type).toBe(servedPort(type, cfg));
      expect(isLoopback(cfg.WEB_HOST), type).toBe(false);
      expect(seconds(s.stop_grace_period) * 1000, type).toBeGreaterThan(cfg.WORKER_SHUTDOWN_MS + forcedExitMarginMs());
    }
  });
});

// ---- Dockerfile -----------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
function dockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => ({ op: l.split(/\s+/, 1)[0]!.toUpperCase(), args: l.slice(l.search(/\s/) + 1).trim() }));
}
const execForm = (args: string): string[] | undefined => {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
  } catch {
    // Shell form: not JSON.
    return undefined;
  }
};

describe("Dockerfile", () => {
  const steps = dockerfile(read("Dockerfile"));
  const stages: Instruction[][] = [];
  for (const s of steps) if (s.op === "FROM") stages.push([s]);
  else stages.at(-1)?.push(s);
  const runtime = stages.at(-1)!;

  it("installs production dependencies from the lock file in a stage of their own", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const deps = stages.find((st) => st.some((s) => s.op === "RUN" && /\bnpm ci\b.*--omit=dev/.test(s.args)));
    expect(deps).toBeDefined();
    expect(deps!.some((s) => s.op === "COPY" && /\bpackage-lock\.json\b/.test(s.args))).toBe(true);
    const name = /\bAS\s+(\S+)/i.exec(deps![0]!.args)?.[1];
    expect(runtime.some((s) => s.op === "COPY" && s.args.includes(`--from=${name}`) && /node_modules/.test(s.args))).toBe(true);
    // The processes run TypeScript through tsx (`node --import tsx`): with dev dependencies omitted it must be
    // a production dependency.
    expect(pkg.dependencies.tsx).toBeDefined();
  });

  it("runs as a non-root user, CMD in exec form running the web process (signals reach node)", () => {
    const user = runtime.filter((s) => s.op === "USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(user!.split(":")[0]).not.toMatch(/^(root|0)$/);
    const cmd = runtime.filter((s) => s.op === "CMD").at(-1)!;
    expect(execForm(cmd.args)).toEqual(procfileArgv("web"));
    for (const s of runtime.filter((x) => x.op === "ENTRYPOINT")) expect(execForm(s.args), "ENTRYPOINT").toBeDefined();
  });

  it("health-checks liveness on the port of whichever process runs", async () => {
    const hc = runtime.find((s) => s.op === "HEALTHCHECK");
    expect(hc).toBeDefined();
    const argv = execForm(hc!.args.slice(hc!.args.indexOf("CMD") + 3).trim());
    expect(argv?.[0]).toBe("node");
    const target = healthcheckTarget(argv!.join(" "));
    expect(await probeAt(target.path ?? "")).toBe("liveness");
    // worker/scheduler/bot listen on HEALTH_PORT, else PORT (their main.ts); web on WEB_PORT.
    expect(target.ports).toEqual(["HEALTH_PORT", "PORT", "WEB_PORT"]);
    expect(target.fallbackPort).toBe(DEFAULTS.WEB_PORT);
  });

  it(".dockerignore keeps host dependencies, local data and secrets out of the build context", () => {
    const ignored = read(".dockerignore").split("\n").map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", ".git", ".data", ".env"]));
  });
});

// ---- the checks bite ------------------------------------------------------------------------------

describe("the artifact checks catch drift", () => {
  const manifests = loadManifests();
  const workerDeployment = (ms: Manifest[]) => ms.find((m) => m.kind === "Deployment" && component(m) === "worker")!;

  it("a probe on a route the code does not serve, or on the wrong port", async () => {
    const ms = structuredClone(manifests);
    const c = podSpec(workerDeployment(ms)).containers[0]!;
    c.readinessProbe!.httpGet!.path = "/healthz";
    c.livenessProbe!.httpGet!.port = 8080;
    const problems = await probeProblems(ms);
    expect(problems).toEqual([expect.stringMatching(/readinessProbe path \/healthz reaches no probe route/), expect.stringMatching(/livenessProbe port 8080 is 8080, the process listens on \d+/)]);
  });

  it("a secret inlined, an unknown variable, a grace period under the bound", () => {
    const ms = structuredClone(manifests);
    const d = workerDeployment(ms);
    const c = podSpec(d).containers[0]!;
    c.env = c.env!.map((e) => (e.name === "REDIS_URL" ? { name: "REDIS_URL", value: "redis://:hunter2@redis:6379" } : e));
    c.env.push({ name: "WORKER_CONCURENCY", value: "8" });
    podSpec(d).terminationGracePeriodSeconds = 30;
    expect(secretProblems(ms)).toEqual([expect.stringMatching(/secret REDIS_URL must come from a secretKeyRef/), expect.stringMatching(/REDIS_URL must be a required secretKeyRef/)]);
    expect(envProblems(ms)).toEqual([expect.stringMatching(/WORKER_CONCURENCY is not a variable of ops\/config\.ts/)]);
    expect(graceProblems(ms)).toEqual([expect.stringMatching(/terminationGracePeriodSeconds 30 must exceed the shutdown bound \d+ ms/)]);
  });

  it("a KEDA query on a metric /metrics does not serve, or on another queue", () => {
    const ms = structuredClone(manifests);
    const [a, b] = ms.filter((m) => m.kind === "ScaledObject");
    const trigger = (so: Manifest) => (so.spec!.triggers as Array<{ metadata: { query: string } }>)[0]!.metadata;
    trigger(a!).query = trigger(a!).query.replace("ta_fleet_queue_jobs", "bullmq_queue_jobs");
    trigger(b!).query = trigger(b!).query.replace(/queue="[^"]+"/, 'queue="nope"');
    expect(kedaProblems(ms, servedMetrics())).toEqual([expect.stringMatching(/bullmq_queue_jobs is not served on \/metrics/), expect.stringMatching(/selects queue "nope"/)]);
  });
});
