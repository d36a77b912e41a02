/**
 * Questions on the terminal (stdin in, stderr out, so stdout stays clean for --json), and the
 * confirmation protected environments need: type the environment's name, or --yes. A shell without
 * a terminal (CI, cron, pipes) is never asked: it must say --yes.
 */
import { createInterface } from 'node:readline';
import { HoardError } from '../core/index.js';
import type { CommandContext } from './context.js';

/** True when questions can be asked: stdin and stderr are terminals and CI is not set. */
export function interactive(ctx: CommandContext): boolean {
  return ctx.env.isTTY && !ctx.env.vars.CI;
}

export interface Prompter {
  /** Asks one question; the default is returned for an empty answer. */
  ask(question: string, def?: string): Promise<string>;
  /** Asks until the answer is yes or no. */
  yes(question: string, def: boolean): Promise<boolean>;
  close(): void;
}

/** One terminal conversation: lines are queued, so answers typed ahead are not lost. */
export function createPrompter(): Prompter {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const lines: string[] = [];
  let waiting: ((l: string | null) => void) | undefined;
  let closed = false;
  rl.on('line', (l) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(l);
    } else lines.push(l);
  });
  rl.on('close', () => {
    closed = true;
    waiting?.(null);
  });
  rl.on('SIGINT', () => {
    closed = true;
    waiting?.(null);
  });
  const next = () =>
    new Promise<string | null>((resolve) => {
      if (lines.length) resolve(lines.shift()!);
      else if (closed) resolve(null);
      else waiting = resolve;
    });
  const ask = async (question: string, def = '') => {
    rl.setPrompt(`${question}${def ? ` [${def}]` : ''}: `);
    rl.prompt();
    const l = await next();
    if (l === null)
      throw new HoardError('interrupted', 'the questions were not answered (input ended); nothing was changed', {
        hint: 'answer them, or run with --yes and flags',
      });
    return l.trim() || def;
  };
  return {
    ask,
    async yes(question, def) {
      for (;;) {
        const a = (await ask(`${question} (${def ? 'Y/n' : 'y/N'})`)).toLowerCase();
        if (!a) return def;
        if (/^y(es)?$/.test(a)) return true;
        if (/^no?$/.test(a)) return false;
      }
    },
    close: () => rl.close(),
  };
}

/** Asks one question on its own. */
export async function ask(question: string, def = ''): Promise<string> {
  const p = createPrompter();
  try {
    return await p.ask(question, def);
  } finally {
    p.close();
  }
}

/**
 * Confirms `action` (e.g. "restore into postgres://db/app") in a protected environment: --yes, or
 * the environment's name typed at the prompt. Kind "usage" (nothing changed) otherwise.
 */
export async function confirmProtected(ctx: CommandContext, environment: string, action: string): Promise<void> {
  if (ctx.args.flags.yes === true) return;
  if (!interactive(ctx)) {
    throw new HoardError(
      'usage',
      `refusing to ${action} in the protected environment ${environment} without confirmation; nothing was changed`,
      { hint: 'this shell is not interactive: add --yes once you have checked the target' },
    );
  }
  process.stderr.write(`${action} in the protected environment ${environment}.\n`);
  const typed = await ask(`Type ${environment} to go on`);
  if (typed !== environment)
    throw new HoardError('usage', `the typed name did not match ${environment}; nothing was changed`);
}
