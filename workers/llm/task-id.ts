// Task ids are part of the llm kind's id scheme (queues/kinds/llm.ts); re-exported for worker-side callers.
export { derivedTaskId, newTaskId } from "../../queues/kinds/llm.ts";
