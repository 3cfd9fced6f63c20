// The man page, generated at build time from the same commander program that runs (npm's `man`
// field installs it). roff by hand: a handful of macros, no dependency.
import type { Command } from 'commander';
import { SETTING_KEYS, type KeySpec } from '../config/keys.ts';
import { VERSION } from '../version.ts';
import { EXAMPLES } from './commands.ts';

/** Text as roff reads it: backslashes and hyphens escaped, no line starting with a control character. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function commandSection(cmd: Command, path: string, out: string[]): void {
  const help = cmd.createHelp();
  const subs = help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
  if (path) {
    out.push(`.SS ${esc(help.commandUsage(cmd).replace(/^imgdesc /, ''))}`);
    out.push(esc(cmd.description()));
    const args = help.visibleArguments(cmd);
    for (const a of args) {
      out.push('.TP', `.I ${esc(a.name())}`, esc(a.description));
    }
    for (const o of help.visibleOptions(cmd)) {
      if (o.long === '--help') continue;
      out.push('.TP', `.B ${esc(o.flags)}`, esc(help.optionDescription(o)));
    }
    const extra = helpText(cmd);
    if (extra) out.push('.PP', '.nf', esc(extra), '.fi');
  }
  for (const s of subs) commandSection(s, path ? `${path} ${s.name()}` : s.name(), out);
}

/** The text a command adds after its help (examples, keys), as `--help` shows it. */
function helpText(cmd: Command): string {
  let text = '';
  const saved = cmd.configureOutput();
  cmd.configureOutput({ writeOut: (s) => void (text += s), writeErr: () => {} });
  cmd.outputHelp();
  cmd.configureOutput(saved);
  const own = cmd.helpInformation();
  return text.slice(own.length).trim();
}

export function renderManPage(program: Command): string {
  const out: string[] = [
    `.TH IMGDESC 1 "" "imgdesc ${VERSION}" "User Commands"`,
    '.SH NAME',
    `imgdesc \\- ${esc(
      program
        .description()
        .replace(/\.$/, '')
        .replace(/^./, (c) => c.toLowerCase()),
    )}`,
    '.SH SYNOPSIS',
  ];
  const help = program.createHelp();
  for (const c of help.visibleCommands(program).filter((c) => c.name() !== 'help')) {
    const [name, ...rest] = help
      .commandUsage(c)
      .replace(/^imgdesc /, '')
      .split(' ');
    out.push(`.B imgdesc ${esc(name ?? '')}`, esc(rest.join(' ')), '.br');
  }
  out.push(
    '.SH DESCRIPTION',
    'Sends each image with a prompt as a vision request to an OpenAI\\-compatible',
    '.B POST {base}/v1/chat/completions',
    'endpoint (an API relay such as one\\-api or new\\-api) and prints the answer on stdout; everything else goes to stderr.',
    'The image is prepared first: upright by EXIF, at most 1568 px on its long edge, under 5 MiB, converted when it is not JPEG, PNG, GIF or WebP, GPS location removed.',
  );
  out.push('.SH GLOBAL OPTIONS', 'Given before or after the command.');
  for (const o of help.visibleOptions(program)) {
    if (o.long === '--help' || o.long === '--version') continue;
    out.push('.TP', `.B ${esc(o.flags)}`, esc(help.optionDescription(o)));
  }
  out.push('.SH COMMANDS');
  commandSection(program, '', out);
  // `--help`'s summary of describe's options points here; the page has them all, and the exit codes
  const root = EXAMPLES.trim();
  const specs = Object.values(SETTING_KEYS as Record<string, KeySpec>);
  const imgdesc = [...specs.flatMap((s) => (s.env ? [s.env] : [])), 'IMGDESC_PROFILE'];
  const openai = specs.flatMap((s) => (s.openaiEnv ? [s.openaiEnv] : []));
  out.push('.SH ENVIRONMENT', '.TP', `.B ${esc(imgdesc.join(', '))}`, 'Override the active profile; flags override these.');
  out.push('.TP', `.B ${esc(openai.join(', '))}`, 'Used when neither a flag, IMGDESC_* nor the profile sets them.');
  out.push('.TP', '.B NO_COLOR, FORCE_COLOR, TERM=dumb', 'Colour off or on.');
  out.push('.TP', '.B VISUAL, EDITOR', 'The editor of \\fBimgdesc config edit\\fR.');
  out.push('.TP', '.B HTTPS_PROXY, HTTP_PROXY, NO_PROXY', 'Honoured for every request.');
  out.push('.SH FILES', '.TP', '.I $XDG_CONFIG_HOME/imgdesc/config.json', 'Profiles (mode 0600); \\fBimgdesc config path\\fR prints it.');
  if (root) out.push('.SH EXAMPLES', '.nf', esc(root), '.fi');
  out.push('.SH SEE ALSO', 'The README and docs/troubleshooting.md of the imgdesc package.');
  return out.join('\n') + '\n';
}
