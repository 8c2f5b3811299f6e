// Every command that takes assets checks them against the assets table before it enqueues anything: an
// unknown symbol would otherwise become jobs that fail on a worker (and raise alerts) after the command exited.
import type { Pool } from "../db/pool.ts";
import { unknownSymbolProblem } from "../db/repos/assets.ts";
import { UsageError } from "./commands/command.ts";

/** Refuses (UsageError: exit 2) the first symbol that is not in the assets table, naming `field` and the known ones. */
export async function requireKnownAssets(db: Pick<Pool, "query">, field: string, symbols: readonly string[]): Promise<void> {
  const problem = await unknownSymbolProblem(db, field, symbols);
  if (problem) throw new UsageError(problem);
}
