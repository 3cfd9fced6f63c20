/** A seeded generator (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
export function seeded(seed: number): () => number;
