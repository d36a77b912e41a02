/**
 * Job hooks: shell commands run before a job, after it, and when it fails, in the project's
 * folder, with the outcome in environment variables (HOARD_JOB, HOARD_RESULT, HOARD_SNAPSHOT_IDS,
 * HOARD_ERROR, HOARD_TRIGGER). A hook that runs past its timeout is killed (its process group) and
 * reported; hooks never see the repository password.
 */
import { spawn } from 'node:child_process';

export interface HookOutcome { command: string; ok: boolean; code: number | null; timedOut: boolean; output: string }

/** Runs one hook command; never throws. */
export function runHook(command: string, o: { cwd: string; vars: Record<string, string>; timeoutMs: number; baseEnv: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<HookOutcome> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...o.baseEnv, ...o.vars };
    for (const k of Object.keys(env)) if (/^(HOARD|RESTIC)_PASSWORD/.test(k)) delete env[k];
    const child = spawn('/bin/sh', ['-c', command], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const kill = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
    const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs);
    o.signal?.addEventListener('abort', kill, { once: true }); // an aborted run takes its hooks with it
    child.on('error', (e) => { clearTimeout(timer); resolve({ command, ok: false, code: null, timedOut, output: e.message }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ command, ok: code === 0 && !timedOut, code, timedOut, output: output.trim() }); });
  });
}

/** The commands of a hook entry (a string or a list). */
export const commands = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
