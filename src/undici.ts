// undici, loaded once and only when something is sent or fetched through it (never for --help,
// --version or a single describe). Shared by the api layer and the image layer's downloads.

let undici: Promise<typeof import('undici')> | undefined;

export function loadUndici(): Promise<typeof import('undici')> {
  undici ??= import('node:v8').then(({ setFlagsFromString }) => {
    // undici parses HTTP with a WebAssembly build of llhttp, which V8 compiles twice, the second
    // time with its optimising tier (≈60 ms of CPU on 2 cores) for code a run uses for a few
    // kilobytes; the baseline compiler alone is plenty. Set before undici compiles it.
    setFlagsFromString('--liftoff-only');
    // .default: the bundled CommonJS module exposes only its default export to import()
    return import('undici').then((m) => m.default);
  });
  return undici;
}
