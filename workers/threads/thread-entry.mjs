// Entry of every compute thread. Node 20 does not apply the parent's `--import tsx` hooks inside worker
// threads, so the thread registers tsx itself before importing its TypeScript task module.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const tasks = await import(workerData.taskModule);

export default function dispatch({ task, input }) {
  const fn = tasks[task];
  if (typeof fn !== "function") throw new Error(`unknown compute task ${JSON.stringify(task)} in ${workerData.taskModule}`);
  return fn(input);
}
