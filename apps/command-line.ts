// Every entry point reads its arguments the same way. `--help` / `-h` prints the usage to stdout and exits 0,
// before the environment is read, so help works whatever the environment holds. An option the command does
// not know, or an argument where it takes none, is refused (exit 2, the usage line on stderr) instead of being
// ignored: `npm run migrate -- --dry-run` must not migrate for real.
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
const HELP = { help: { type: "boolean", short: "h" } } as const;
type Spec<O extends Options> = { args: string[]; options: O & typeof HELP; allowPositionals: boolean; strict: true };

/** Exits 2 naming the command, with the reason and the usage's `Usage: …` line on stderr. */
export function usageError(command: string, usage: string, message: string): never {
  process.stderr.write(`ta-fleet ${command}: ${message}\n${usage.split("\n")[0]}\n`);
  process.exit(2);
}

/**
 * Parses `args` (default: the process's) against `options`; `usage` is the full help text, its first line
 * `Usage: …`. Returns only when the command is to run.
 */
export function commandLine<O extends Options = Record<never, never>>(
  command: string,
  usage: string,
  spec: { options?: O; positionals?: boolean } = {},
  args: string[] = process.argv.slice(2),
): ReturnType<typeof parseArgs<Spec<O>>> {
  const options = { ...(spec.options as O), ...HELP };
  // Asking for help is answered even next to a mistake (`--help --bogus`); the strict parse then refuses it.
  if (parseArgs({ args, options, allowPositionals: true, strict: false }).values.help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  try {
    return parseArgs<Spec<O>>({ args, options, allowPositionals: spec.positionals ?? false, strict: true });
  } catch (err) {
    return usageError(command, usage, (err as Error).message);
  }
}
