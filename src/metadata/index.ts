// Photo metadata (XMP sidecars, descriptions embedded in images) through exiftool. Only core imports it.
export {
  existingDescription,
  photoText,
  planTarget,
  xmpPathFor,
  XMP_NAMINGS,
  type MetadataTarget,
  type PhotoText,
  type XmpNaming,
} from './plan.ts';
export { readExisting, writeTarget, type Existing } from './write.ts';

/** One exiftool process for a whole run, started on first use; `close` ends it so the CLI can exit. */
export function exiftoolSession(): { get: () => Promise<import('exiftool-vendored').ExifTool>; close: () => Promise<void> } {
  let started: Promise<import('exiftool-vendored').ExifTool> | undefined;
  return {
    get: () => (started ??= import('exiftool-vendored').then(({ ExifTool }) => new ExifTool({ maxProcs: 1 }))),
    close: async () => {
      if (started) await (await started).end();
    },
  };
}
