// Pointer + summary: a finished task stores its full context in PostgreSQL and the next task receives the
// handoff id with a summary of at most 500 characters; it loads the context by id or fails permanently.
import { createHash } from "node:crypto";
import type { Pool } from "../../db/pool.ts";
import { getHandoff, insertHandoff, type Handoff } from "../../db/repos/llm-handoffs.ts";
import { PermanentError } from "../errors.ts";

export const SUMMARY_MAX = 500;

export function summarize(text: string, max = SUMMARY_MAX): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Stores the handoff of `fromTaskId` (idempotent: the id derives from the task). */
export async function createHandoff(pool: Pool, h: Omit<Handoff, "handoffId" | "summary"> & { summary?: string }): Promise<Handoff> {
  const handoff: Handoff = {
    handoffId: `ho_${createHash("sha256").update(h.fromTaskId).digest("hex").slice(0, 32)}`,
    fromTaskId: h.fromTaskId,
    chainId: h.chainId,
    summary: summarize(h.summary ?? h.context),
    context: h.context,
  };
  await insertHandoff(pool, handoff);
  return handoff;
}

export async function loadHandoff(pool: Pool, handoffId: string): Promise<Handoff> {
  const h = await getHandoff(pool, handoffId);
  if (!h) throw new PermanentError(`handoff ${handoffId} not found: the task it points to never stored its context`);
  return h;
}

/** The prompt of a task that received a handoff: the loaded context first, then its own instruction. */
export function promptWithHandoff(h: Handoff, prompt: string): string {
  return `Context handed off by task ${h.fromTaskId} (summary: ${h.summary})\n\n${h.context}\n\n---\n\n${prompt}`;
}
