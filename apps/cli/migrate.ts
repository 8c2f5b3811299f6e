// `npm run migrate` (and the Procfile's release phase).
import { bootstrap } from "../bootstrap.ts";
import { commandLine } from "../command-line.ts";
import { migrate } from "../../db/migrate.ts";

commandLine(
  "migrate",
  `Usage: npm run migrate

Applies the pending migrations (db/migrations) to DATABASE_URL, or to the embedded PostgreSQL under DATA_DIR
when it is unset; each file in one transaction, under an advisory lock. The Procfile's release phase.
`,
);
const rt = await bootstrap("migrate", { oneShot: true });
try {
  const { applied, current } = await migrate(rt.pool, { log: (m) => rt.log.info(m) });
  rt.log.info({ applied: applied.length, version: current }, applied.length ? "migrations applied" : "database already up to date");
  await rt.shutdown.shutdown("done");
} catch (err) {
  rt.log.error({ err: (err as Error).message }, "migration failed");
  await rt.shutdown.shutdown("failed", 1);
}
