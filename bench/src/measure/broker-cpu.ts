import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The process name of each broker's server, as /proc/<pid>/comm gives it. */
const SERVER_NAMES = { nats: 'nats-server', rabbitmq: 'beam.smp' } as const;

/**
 * CPU time the broker's server spends during a measured section: whether a relay is bound by the
 * broker or by itself shows here. Only known when the broker runs on this machine (null otherwise).
 */
export class BrokerCpuMeter {
  private constructor(
    private readonly pids: readonly number[],
    private readonly ticks: number,
  ) {}

  static async start(broker: keyof typeof SERVER_NAMES): Promise<BrokerCpuMeter> {
    const pids = await pidsNamed(SERVER_NAMES[broker]);
    return new BrokerCpuMeter(pids, await ticksOf(pids));
  }

  /** The server's CPU milliseconds since `start`, or null when no server process was found. */
  async stop(): Promise<number | null> {
    if (this.pids.length === 0) return null;
    return ((await ticksOf(this.pids)) - this.ticks) * (1000 / TICKS_PER_SECOND);
  }
}

/** The broker server's CPU per 1,000 messages, when it runs here (`BrokerCpuMeter.stop`). */
export function brokerCpuPer1000(brokerMs: number | null, messages: number): Record<string, number> {
  return brokerMs === null ? {} : { brokerCpuMsPer1000: (brokerMs / messages) * 1000 };
}

async function pidsNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === name) pids.push(Number(entry));
  }
  return pids;
}

/** utime + stime of the processes (and their threads), in ticks. */
async function ticksOf(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return total;
}
