// `npm run migrate` (and the Procfile's release phase).
import { bootstrap } from "../bootstrap.ts";
import { migrate } from "../../db/migrate.ts";

const rt = await bootstrap("migrate", { oneShot: true });
try {
  const { applied, current } = await migrate(rt.pool, { log: (m) => rt.log.info(m) });
  rt.log.info({ applied: applied.length, version: current }, applied.length ? "migrations applied" : "database already up to date");
  await rt.shutdown.shutdown("done");
} catch (err) {
  rt.log.error({ err: (err as Error).message }, "migration failed");
  await rt.shutdown.shutdown("failed", 1);
}
