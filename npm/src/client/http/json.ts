/**
 * Duplicate keys in a JSON body. `JSON.parse` keeps the last of two equal keys, so
 * `{"op_id":"a","op_id":"b"}` would be read as "b" by us and possibly as "a" by a proxy or a
 * logger in front of us; a body that means two things is refused instead.
 *
 * Runs after `JSON.parse` accepted the text (so the syntax is known to be valid) in one pass with
 * an explicit stack: no recursion, memory bounded by the nesting of the (size-capped) body.
 */

/** The path of the first repeated key (`deltas[0].op_id`), or null when every object's keys are distinct. */
export function findDuplicateKey(text: string): string | null {
  // One frame per open container: an object's keys seen so far, or an array's next index.
  type Frame = { keys: Set<string>; path: string; key: string | null } | { index: number; path: string };
  const stack: Frame[] = [];
  const pathOf = (frame: Frame | undefined): string => {
    if (frame === undefined) return "";
    if ("keys" in frame) return frame.key === null ? frame.path : join(frame.path, frame.key);
    return `${frame.path}[${frame.index}]`;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top !== undefined && "keys" in top && nextNonSpace(text, end) === ":") {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (top.keys.has(key)) return join(top.path, key);
        top.keys.add(key);
        top.key = key;
      }
      i = end;
      continue;
    }
    if (c === "{" || c === "[") {
      const path = pathOf(stack[stack.length - 1]);
      stack.push(c === "{" ? { keys: new Set(), path, key: null } : { index: 0, path });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top !== undefined && "index" in top) top.index += 1;
    }
    i += 1;
  }
  return null;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Index just past the string literal starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i += 1;
  }
  return text.length;
}

function nextNonSpace(text: string, from: number): string | undefined {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i += 1;
  return text[i];
}
