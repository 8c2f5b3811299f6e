// The Telegram splitter (alerts/split.ts): parts of at most 4096 characters, broken at line boundaries
// where possible, in order, with nothing lost but the newline at each break.
import { describe, expect, it } from "vitest";
import { splitMessage, TELEGRAM_MAX_MESSAGE } from "../../alerts/split.ts";

const line = (c: string, n: number) => c.repeat(n);

describe("splitMessage", () => {
  it("keeps a message that fits whole, up to exactly 4096 characters", () => {
    expect(TELEGRAM_MAX_MESSAGE).toBe(4096);
    expect(splitMessage("short\nbrief")).toEqual(["short\nbrief"]);
    const full = `${line("a", 2000)}\n${line("b", 2095)}`;
    expect(full.length).toBe(4096);
    expect(splitMessage(full)).toEqual([full]);
    expect(splitMessage("")).toEqual([]);
  });

  it("breaks at the last line boundary that fits: 4097 characters become two parts", () => {
    const a = line("a", 2000);
    const b = line("b", 2096);
    const text = `${a}\n${b}`;
    expect(text.length).toBe(4097);
    expect(splitMessage(text)).toEqual([a, b]);
  });

  it("packs as many whole lines as fit into each part, in order, and joining the parts gives the text back", () => {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${String(i).padStart(3, "0")} ${line("x", (i * 37) % 90)}`);
    const text = lines.join("\n");
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    expect(parts.join("\n")).toBe(text);
    // Every break is at a line boundary, and each part is full: the next line would not have fitted.
    for (let i = 0; i < parts.length - 1; i++) {
      const nextLine = parts[i + 1]!.split("\n")[0]!;
      expect(parts[i]!.length + 1 + nextLine.length).toBeGreaterThan(4096);
    }
  });

  it("cuts a single line longer than the limit into full parts, losing nothing", () => {
    const long = line("z", 4096 * 2 + 10);
    const text = `head\n${long}\ntail`;
    const parts = splitMessage(text);
    expect(parts).toEqual(["head", line("z", 4096), line("z", 4096), `${line("z", 10)}\ntail`]);
    expect(parts.join("").replaceAll("\n", "")).toBe(text.replaceAll("\n", ""));
  });

  it("never cuts inside a surrogate pair", () => {
    const text = `${line("a", 4095)}😀${line("b", 10)}`;
    const parts = splitMessage(text);
    expect(parts).toEqual([line("a", 4095), `😀${line("b", 10)}`]);
    expect(parts.join("")).toBe(text);
  });

  it("leaves out parts that would be only whitespace (Telegram refuses empty messages)", () => {
    const a = line("a", 4096);
    expect(splitMessage(`${a}\n\n`)).toEqual([a]);
    expect(splitMessage(`${a}\n\nnext`)).toEqual([a, "\nnext"]);
  });

  it("honours a smaller limit", () => {
    expect(splitMessage("ab\ncd\nef", 5)).toEqual(["ab\ncd", "ef"]);
  });
});
