// How deeply a JSON text nests, found by scanning it (no recursion, no parse). JSON.parse takes
// any depth, but JSON.stringify, validators and walkers recurse: a 200 answer whose `usage` nests
// 100,000 levels ended a whole batch with "Maximum call stack size exceeded". Texts from outside
// (answers, schemas, manifest rows) are checked against this limit before they are parsed.

/** Far above any real answer, schema or row (a chat completion nests about 6 levels). */
export const MAX_JSON_DEPTH = 128;

/** Whether `text` opens more than `max` arrays/objects inside one another (brackets in strings do not count). */
export function nestsDeeper(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Nesting past `max` takes more than `max` opening brackets: most texts are settled by counting
  // them (a native search), not by walking every character (a results file has 100,000 lines).
  if (!opensMoreThan(text, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // a backslash escapes the next character (an escaped quote does not end the string)
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function opensMoreThan(text: string, max: number): boolean {
  let n = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i >= 0; i = text.indexOf(bracket, i + 1)) if (++n > max) return true;
  }
  return false;
}
