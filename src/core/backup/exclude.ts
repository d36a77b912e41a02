/**
 * Exclude patterns with restic's matching rules: a pattern is split at "/" into components; a
 * pattern starting with "/" matches from the root, any other pattern matches any trailing part of
 * the path ("*.log" matches every .log file, "cache/*" every child of a folder named cache).
 * Within a component "*" and "?" and [classes] work as in shell globs; "**" matches any number of
 * components.
 */
function componentRe(c: string): RegExp {
  let re = '';
  for (let i = 0; i < c.length; i++) {
    const ch = c[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = c.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${c
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

type Part = RegExp | '**';

function matchParts(pat: Part[], pi: number, path: string[], qi: number): boolean {
  if (pi === pat.length) return qi === path.length;
  const p = pat[pi];
  if (p === '**') {
    for (let k = qi; k <= path.length; k++) if (matchParts(pat, pi + 1, path, k)) return true;
    return false;
  }
  return qi < path.length && p.test(path[qi]) && matchParts(pat, pi + 1, path, qi + 1);
}

/** A compiled set of patterns; `matches(absPath)` is true when any pattern excludes the path. */
export interface ExcludeMatcher {
  matches(absPath: string): boolean;
  readonly patterns: string[];
}

/** Compiles patterns (blank lines and lines starting with # are ignored, as in exclude files). */
export function compileExcludes(patterns: string[]): ExcludeMatcher {
  const clean = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
  const compiled = clean.map((p) => ({
    anchored: p.startsWith('/'),
    parts: p
      .split('/')
      .filter((c) => c !== '')
      .map((c): Part => (c === '**' ? '**' : componentRe(c))),
  }));
  return {
    patterns: clean,
    matches(absPath: string): boolean {
      const path = absPath.split('/').filter((c) => c !== '');
      return compiled.some(({ anchored, parts }) => {
        if (anchored) return matchParts(parts, 0, path, 0);
        for (let s = 0; s < path.length; s++) if (matchParts(parts, 0, path, s)) return true;
        return false;
      });
    },
  };
}
