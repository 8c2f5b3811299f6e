// README.md against what it describes: every npm command it names exists, every enqueue command it shows is
// a real one, and its configuration tables document exactly the variables the config reads (and the test
// variables table exactly those the test setup reads) — so the README cannot drift from the code unnoticed.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS } from "../../ops/config.ts";
import { COMMANDS } from "../../producers/commands/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
const scripts = Object.keys((JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
// npm's own commands the README tells people to run; everything else after `npm ` must be a script.
const NPM_BUILTINS = ["ci", "install"];
// Where the README documents the test suite's variables, which test/setup/global.ts reads, not ops/config.ts.
const TEST_SECTION = "Testing";
// The soak's own variables (bench/soak.ts), documented in the same section.
const SOAK = "SOAK_";

const uniq = (xs: Iterable<string>) => [...new Set(xs)].sort();
const matches = (re: RegExp, text: string) => [...text.matchAll(re)].map((m) => m[1]!);
// Commands are named in code (fenced blocks and `inline` spans); prose may say "npm" as a word.
const FENCED = /^```[^\n]*\n([\s\S]*?)^```/gm;
const code = [...matches(FENCED, readme), ...matches(/`([^`\n]+)`/g, readme.replace(FENCED, ""))].join("\n");

/** `## Heading` → the text up to the next `## `. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of readme.split(/^## /m).slice(1)) out.set(part.slice(0, part.indexOf("\n")).trim(), part);
  return out;
}

/** The variables in the first column of every table headed `| variable | …`, under `## ` headings that `keep` accepts. */
function tableVariables(keep: (heading: string) => boolean): string[] {
  const found: string[] = [];
  for (const [heading, text] of sections()) {
    if (!keep(heading)) continue;
    let inTable = false;
    for (const line of text.split("\n")) {
      if (/^\s*\|\s*variable\s*\|/.test(line)) inTable = true;
      else if (!line.trim().startsWith("|")) inTable = false;
      else if (inTable && !/^\s*\|\s*-/.test(line)) found.push(...matches(/`([A-Z][A-Z0-9_]*)`/g, line.split("|")[1]));
    }
  }
  return uniq(found);
}

describe("README.md", () => {
  it("names only npm scripts that exist", () => {
    const named = matches(/\bnpm run ([a-z][\w:-]*)/g, code);
    expect(named.length).toBeGreaterThan(10);
    expect(uniq(named).filter((s) => !scripts.includes(s))).toEqual([]);
    const direct = matches(/\bnpm (?!run\b)([a-z][\w:-]*)/g, code);
    expect(uniq(direct).filter((s) => !scripts.includes(s) && !NPM_BUILTINS.includes(s))).toEqual([]);
  });

  it("shows only enqueue commands that exist", () => {
    const shown = matches(/\bnpm run enqueue -- ([a-z][\w-]*)/g, code);
    expect(shown.length).toBeGreaterThan(3);
    expect(uniq(shown).filter((c) => !COMMANDS.some((cmd) => cmd.name === c))).toEqual([]);
  });

  it("its configuration tables document exactly the variables of ops/config.ts", () => {
    expect(tableVariables((h) => h !== TEST_SECTION)).toEqual(uniq(CONFIG_KEYS));
  });

  it("its test variables table documents exactly the variables the test setup reads", () => {
    const setup = readFileSync(resolve(ROOT, "test/setup/global.ts"), "utf8");
    expect(tableVariables((h) => h === TEST_SECTION).filter((v) => !v.startsWith(SOAK))).toEqual(uniq(matches(/process\.env\.([A-Z][A-Z0-9_]*)/g, setup)));
  });

  it("its soak table documents exactly the variables `npm run soak` reads", () => {
    const soak = readFileSync(resolve(ROOT, "bench/soak.ts"), "utf8");
    expect(tableVariables((h) => h === TEST_SECTION).filter((v) => v.startsWith(SOAK))).toEqual(uniq(matches(/\b(SOAK_[A-Z][A-Z0-9_]*)/g, soak)));
  });
});
