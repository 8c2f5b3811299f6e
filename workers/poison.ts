// Jobs no worker can read must end in `failed` with a reason instead of circling between active and wait.
// BullMQ parses a job's data and options as it hands the job over; a parse error there escapes the worker's
// processing entirely, so the job is never failed — it stalls, is moved back, and stalls again for ever.
// - Unreadable data: PoisonAwareWorker builds the job without its data and marks it as a deferred failure;
//   BullMQ then fails it (its own moveToFailed, parent policy included) before any processor runs. The
//   stored data is replaced by a JSON envelope holding the original text, so that whatever lists failed
//   jobs afterwards (bull-board, the dashboard, chat-ops) can read the job and show what it was.
// - Unreadable options: the job cannot even be built. quarantineUnreadable() finds it in the active list,
//   replaces the options with `{}` (their parent policy is lost with them) and marks the deferred failure;
//   the stalled check hands it back and the next fetch fails it.
import { Job, Worker, type JobJson, type Processor, type WorkerOptions } from "bullmq";
import type { Redis } from "../queues/connection.ts";

const preview = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);

/** What replaces unreadable data: readable by anyone, and still holding (the start of) the original. */
export const unreadableEnvelope = (raw: string) => JSON.stringify({ _unreadable: raw.slice(0, 4_096) });

export class PoisonAwareWorker extends Worker {
  constructor(
    name: string,
    processor: Processor,
    opts: WorkerOptions,
    /** Called (synchronously, from inside the fetch) with the job whose stored data cannot be read. */
    private readonly onUnreadable: (job: Job, raw: string) => void,
  ) {
    super(name, processor, opts);
  }

  protected override createJob(json: JobJson, jobId: string): Job {
    try {
      return super.createJob(json, jobId);
    } catch (err) {
      const job = new Job(this, json.name, {}, json.opts, json.id || jobId);
      job.attemptsMade = Number(json.attemptsMade) || 0;
      job.attemptsStarted = Number(json.attemptsStarted) || 0;
      job.timestamp = json.timestamp;
      job.deferredFailure = `unreadable job data (${(err as Error).message}): ${preview(json.data ?? "")}`;
      this.onUnreadable(job, json.data ?? "");
      return job;
    }
  }
}

// Atomic with respect to the job leaving `active`: a job another worker finished meanwhile is left alone.
// stc 0: the stalled check must not overwrite our reason with its own "stalled more than allowable limit".
const QUARANTINE = `
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'opts', '{}', 'defa', ARGV[2], 'stc', 0)
redis.call('DEL', KEYS[3])
return 1`;

/** Marks the active jobs of a queue whose options are not JSON; returns their ids. */
export async function quarantineUnreadable(redis: Redis, queueKey: string, limit = 1_000): Promise<string[]> {
  const active = await redis.lrange(`${queueKey}:active`, 0, limit - 1);
  if (!active.length) return [];
  const pipe = redis.pipeline();
  for (const id of active) pipe.hget(`${queueKey}:${id}`, "opts");
  const opts = (await pipe.exec()) ?? [];
  const marked: string[] = [];
  for (const [i, id] of active.entries()) {
    const raw = opts[i]?.[1];
    if (typeof raw !== "string" || readable(raw)) continue;
    const reason = `unreadable job options (not JSON): ${preview(raw)}`;
    const jobKey = `${queueKey}:${id}`;
    if (await redis.eval(QUARANTINE, 3, `${queueKey}:active`, jobKey, `${jobKey}:lock`, id, reason)) marked.push(id);
  }
  return marked;
}

function readable(json: string): boolean {
  try {
    JSON.parse(json);
    return true;
  } catch {
    // Unreadable is the answer this function exists to give.
    return false;
  }
}
