// Filled in by the bundler from package.json; unbundled (tests through tsx) it reads "dev".
declare const __IMGDESC_VERSION__: string | undefined;
export const VERSION: string = typeof __IMGDESC_VERSION__ === 'string' ? __IMGDESC_VERSION__ : '0.0.0-dev';
