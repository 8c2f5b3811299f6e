// Pure: a long chat message as parts Telegram accepts (sendMessage takes at most 4096 characters, counted
// as UTF-16 code units like String.length). Parts break at line boundaries where possible — the newline at
// a break is the only thing dropped — and a single line longer than the limit is cut into full-size
// pieces (never inside a surrogate pair). Parts made only of whitespace are left out (Telegram refuses
// an empty message). Sent in array order, they read as the original text.
export const TELEGRAM_MAX_MESSAGE = 4096;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

export function splitMessage(text: string, max = TELEGRAM_MAX_MESSAGE): string[] {
  if (max < 2) throw new RangeError("splitMessage: max must be at least 2");
  const parts: string[] = [];
  let current: string | undefined;
  const flush = () => {
    if (current !== undefined && current.trim() !== "") parts.push(current);
    current = undefined;
  };
  for (const line of text.split("\n")) {
    const joined = current === undefined ? line : `${current}\n${line}`;
    if (joined.length <= max) {
      current = joined;
      continue;
    }
    flush();
    let rest = line;
    while (rest.length > max) {
      const cut = isHighSurrogate(rest.charCodeAt(max - 1)) ? max - 1 : max;
      parts.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    current = rest;
  }
  flush();
  return parts;
}
