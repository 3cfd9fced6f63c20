// Reading and writing photo metadata with exiftool (exiftool-vendored): pixels are never
// re-encoded, and everything not named is left as it is.
import type { ExifTool } from 'exiftool-vendored';
import { existingDescription, existingKeywords, type MetadataTarget } from './plan.ts';

/** An empty XMP packet: exiftool fills a new sidecar from it. */
const EMPTY_XMP = `<?xpacket begin='\uFEFF' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>
`;

export interface Existing {
  description: string | undefined;
  keywords: string[];
}

async function exists(path: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The description and keywords already at a target (nothing when a sidecar does not exist yet). */
export async function readExisting(et: ExifTool, path: string): Promise<Existing> {
  if (!(await exists(path))) return { description: undefined, keywords: [] };
  const tags = (await et.read(path)) as Record<string, unknown>;
  return { description: existingDescription(tags), keywords: existingKeywords(tags) };
}

/**
 * Writes the tags. A new sidecar starts from an empty packet; an existing one, or an image, is
 * edited in place by exiftool (it writes a temporary file and renames it over the original, so a
 * crash leaves the old file whole). With `backup`, the image's current bytes are kept as
 * `photo.jpg_original` (exiftool's own convention). exiftool leaves an existing `_original` as it
 * is, which would change the photo with no backup of its current bytes (and that name may be
 * anyone's file): then the backup goes to the first free `photo.jpg_original.N`. Returns the backup's path.
 */
export async function writeTarget(et: ExifTool, target: MetadataTarget, backup: boolean): Promise<string | undefined> {
  const { copyFile, lstat, writeFile } = await import('node:fs/promises');
  if (target.where === 'sidecar' && !(await exists(target.path))) {
    await writeFile(target.path, EMPTY_XMP, { flag: 'wx' });
  }
  if (target.where === 'sidecar' || !backup) {
    await et.write(target.path, target.tags as never, { writeArgs: ['-overwrite_original'] });
    return undefined;
  }
  const first = `${target.path}_original`;
  const taken = await lstat(first).then(
    () => true,
    () => false,
  );
  if (!taken) {
    await et.write(target.path, target.tags as never, { writeArgs: [] });
    return first;
  }
  const { constants } = await import('node:fs');
  for (let n = 1; ; n++) {
    const name = `${first}.${n}`;
    try {
      await copyFile(target.path, name, constants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await et.write(target.path, target.tags as never, { writeArgs: ['-overwrite_original'] });
    return name;
  }
}
