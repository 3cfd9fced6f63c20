import { jsonSafe, visible } from '../safe-text.ts';
import { ExitCode } from '../types.ts';
import type { Factory } from './factory.ts';
import type { models } from './commands.ts';
import type { OptionsOf } from './spec.ts';

/** What `imgdesc models` takes (commands.ts). */
export type ModelsOptions = OptionsOf<typeof models>;

export async function run(options: ModelsOptions, f: Factory): Promise<number> {
  const { run, io, term } = f;
  const settings = await f.settings(options.settings);
  const { fetchModels } = await import('../core/models.ts');
  const spinner = await term.spinner('Listing models');
  try {
    const { response, ids } = await fetchModels(settings, f.core);
    spinner.stop();
    // Model ids are the relay's text: one per line, controls in them shown escaped.
    if (run.json) io.stdout.write(jsonSafe(response.rawText.endsWith('\n') ? response.rawText : response.rawText + '\n'));
    else if (ids.length) io.stdout.write(ids.map(visible).join('\n') + '\n');
    else term.warn('the relay lists no models');
    return ExitCode.ok;
  } finally {
    spinner.stop();
  }
}
