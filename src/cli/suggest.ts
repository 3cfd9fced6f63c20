// "did you mean …?" for a mistyped command or config key.

/** Edit distance counting a swap of two neighbours as one edit (`bacth` → `batch` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, (d[i - 2] as number[])[j - 2]! + 1);
    }
  }
  return (d[a.length] as number[])[b.length]!;
}

/** The closest of `names` to `word`, if it is close enough to be a typo (at most 1 edit in 4 letters). */
export function closest(word: string, names: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const dist = editDistance(w, name);
    const limit = Math.max(1, Math.floor(name.length / 4));
    if (dist <= limit && dist < bestDistance) {
      best = name;
      bestDistance = dist;
    }
  }
  return best;
}
