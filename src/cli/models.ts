// `imgdesc models [--json]`
import type { Profile } from '../config/store.ts';
import { jsonSafe, visible } from '../safe-text.ts';
import { ExitCode, type IO } from '../types.ts';
import { Term } from '../ui/term.ts';
import type { RunFlags } from './options.ts';
import { loadSettings } from './settings.ts';

export async function runModels(options: { settings: Profile; run: RunFlags }, io: IO): Promise<number> {
  const { run } = options;
  const settings = await loadSettings(options.settings, run, io.env, io.signal);
  const term = new Term(io, { quiet: run.quiet, verbose: run.verbose, noColor: run.noColor, json: run.json });
  const { fetchModels } = await import('../core/models.ts');
  const spinner = await term.spinner('Listing models');
  try {
    const { response, ids } = await fetchModels(settings, { stdin: io.stdin, cwd: io.cwd, signal: io.signal });
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
