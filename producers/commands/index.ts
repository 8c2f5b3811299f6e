// Every sub-command of `npm run enqueue`, in help order.
import type { Command } from "./command.ts";
import { dailyRefreshCommand } from "./daily-refresh.ts";
import { llmBatchCommand } from "./llm-batch.ts";
import { llmCommand } from "./llm.ts";
import { smokeCommand } from "./smoke.ts";
import { sweepCommand } from "./sweep.ts";
import { walkForwardCommand } from "./walk-forward.ts";

export const COMMANDS: readonly Command[] = [dailyRefreshCommand, sweepCommand, walkForwardCommand, llmCommand, llmBatchCommand, smokeCommand];
