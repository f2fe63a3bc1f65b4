import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ChildRequest, MeasureResult } from '../measure/job.js';

const CHILD = fileURLToPath(new URL('../child.js', import.meta.url));

/** A child's result, with the peak of its RSS as sampled from outside. */
export interface ChildOutcome extends MeasureResult {
  /** Highest VmRSS read from /proc every 100 ms (Linux only; `null` elsewhere). */
  sampledPeakRssMb: number | null;
}

/** Runs one measurement in a child process (`bench/dist/child.js`), with extra Node flags. */
export function runChild(
  request: ChildRequest,
  execArgv: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(request)], {
      execArgv,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let peakKb = 0;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      readFile(`/proc/${child.pid}/status`, 'utf8')
        .then((status) => {
          const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
          peakKb = Math.max(peakKb, kb);
        })
        .catch(() => {})
        .finally(() => (sampling = false));
    }, 100);
    let answer: { ok: true; result: MeasureResult } | { ok: false; error: string } | undefined;
    child.on('message', (message) => (answer = message as typeof answer));
    child.on('error', (error) => {
      clearInterval(sampler);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      if (answer?.ok) {
        resolve({ ...answer.result, sampledPeakRssMb: peakKb > 0 ? peakKb / 1024 : null });
      } else {
        const why = answer && !answer.ok ? answer.error : `exited with ${signal ?? `code ${code}`}`;
        reject(new Error(`Measurement ${JSON.stringify(request.job)} failed: ${why}`));
      }
    });
  });
}
