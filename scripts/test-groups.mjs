// How npm test splits the test files into one group per process (scripts/test.mjs).

/**
 * `k` groups of files with sums of recorded durations as even as can be: the longest first, each to
 * the group with the least so far. A file never timed counts as the longest known (a new file may
 * well be slow). Within a group the files keep that order, slowest first. Empty groups are dropped.
 */
export function groupFiles(files, durations, k) {
  const known = files.map((f) => durations[f]).filter((d) => typeof d === 'number');
  const guess = known.length ? Math.max(...known) : 1;
  const ms = (f) => (typeof durations[f] === 'number' ? durations[f] : guess);
  const sorted = [...files].sort((a, b) => ms(b) - ms(a) || (a < b ? -1 : a > b ? 1 : 0));
  const groups = Array.from({ length: Math.max(1, k) }, () => ({ files: [], total: 0 }));
  for (const f of sorted) {
    const least = groups.reduce((a, b) => (b.total < a.total ? b : a));
    least.files.push(f);
    least.total += ms(f);
  }
  return groups.filter((g) => g.files.length).map((g) => g.files);
}
