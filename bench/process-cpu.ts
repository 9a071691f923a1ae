// CPU time of processes from /proc (Linux), for benchmarks that count PostgreSQL's backends beside node:
// on a shared machine, CPU per event says more than a wall-clock rate.
import { readFileSync } from 'node:fs';
import type { Database } from '../db/database.ts';

/** CPU seconds a process has used so far: proc(5) fields 14 and 15 (utime, stime) in USER_HZ, 100 per second. */
export const processCpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // the process ended
  }
};

/** The client backends serving `db`'s database (other databases on the same server are left out). */
export const backendPids = async (db: Database): Promise<number[]> =>
  (
    await db.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = $1',
      ['client backend'],
    )
  ).rows.map((row) => row.pid);

/** CPU seconds a piece of work cost: this node process, and PostgreSQL's backends (undefined for PGlite,
 * which runs inside this process and so is counted in `node`). */
export type Cpu = { node: number; postgres: number | undefined };

/** Runs `fn` and returns its CPU, node's and (on a server) the backends' of `db`. */
export const measureCpu = async <T>(db: Database, fn: () => Promise<T>): Promise<{ result: T; cpu: Cpu }> => {
  const before = db.embedded
    ? new Map<number, number>()
    : new Map((await backendPids(db)).map((pid) => [pid, processCpuSeconds(pid)]));
  const started = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(started);
  let postgres: number | undefined;
  if (!db.embedded) {
    // Backends the pool opened meanwhile started from zero; the pool keeps them open (no idle timeout in a run this short).
    postgres = 0;
    for (const pid of await backendPids(db)) postgres += processCpuSeconds(pid) - (before.get(pid) ?? 0);
  }
  return { result, cpu: { node: (used.user + used.system) / 1e6, postgres } };
};
