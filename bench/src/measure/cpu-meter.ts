import { readFile } from 'node:fs/promises';
import { Client } from 'pg';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time spent during a measured section by this process and by the PostgreSQL backends of its
 * database: what a subject costs whatever else runs on the machine, where throughput on a shared
 * 2-core machine moves with the neighbours' load. PostgreSQL's share is read from /proc, so it is
 * only known when the server runs on this machine (`null` otherwise); backends that exit during
 * the section are missed, ones that start in it are counted from zero.
 */
export class CpuMeter {
  private constructor(
    private readonly client: Client,
    private readonly node: NodeJS.CpuUsage,
    private readonly backends: Map<number, number> | null,
  ) {}

  static async start(databaseUrl: string): Promise<CpuMeter> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const backends = await backendTicks(client);
    return new CpuMeter(client, process.cpuUsage(), backends);
  }

  /** CPU milliseconds since `start`: this process, and the database's backends. */
  async stop(): Promise<{ nodeMs: number; postgresMs: number | null }> {
    const { user, system } = process.cpuUsage(this.node);
    try {
      const after = this.backends && (await backendTicks(this.client));
      let ticks = 0;
      for (const [pid, now] of after ?? []) ticks += now - (this.backends?.get(pid) ?? 0);
      return {
        nodeMs: (user + system) / 1000,
        postgresMs: after ? (ticks * 1000) / TICKS_PER_SECOND : null,
      };
    } finally {
      await this.client.end();
    }
  }
}

async function backendTicks(client: Client): Promise<Map<number, number> | null> {
  const { rows } = await client.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database()`,
  );
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state is 3rd, utime 14th, stime 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      return null; // not on this machine (or not readable): PostgreSQL's share stays unknown
    }
  }
  return ticks;
}
