/** `k` groups of files with even sums of recorded durations (ms by file), slowest first within each. */
export function groupFiles(files: string[], durations: Record<string, number>, k: number): string[][];
