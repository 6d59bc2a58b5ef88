/**
 * CPU accounting for `npm run bench` (Linux only): how much CPU the node, the benchmark process
 * itself (load generator and subscribers, or the raw run's lib work) and a local database server
 * spent during the measured window, so that the cost per post can be compared between modes.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every mainstream Linux build). */
const TICKS_PER_SECOND = 100;

export interface CpuProcess {
  label: string;
  pid: number;
}

interface Snapshot {
  at: number;
  ticks: Map<string, number>;
  /** Context switches (voluntary + involuntary, all threads): each is a sleep and a wake-up, the costly part of a loopback round trip in a VM. */
  switches: Map<string, number>;
  machine: { busy: number; total: number } | null;
}

function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return null;
  }
}

function contextSwitches(pid: number): number | null {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) total += Number(m[1]);
    }
    return total;
  } catch {
    return null;
  }
}

function machineTicks(): { busy: number; total: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - (cpu[4] ?? 0), total }; // minus idle and iowait
  } catch {
    return null;
  }
}

/** The pid of a MariaDB/MySQL server on this machine, if one runs (for a database on 127.0.0.1). */
export function localDatabasePid(): number | null {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
        if (comm === 'mariadbd' || comm === 'mysqld') return Number(entry);
      } catch {
        /* gone meanwhile */
      }
    }
  } catch {
    /* no /proc */
  }
  return null;
}

export function cpuSnapshot(processes: readonly CpuProcess[]): Snapshot {
  const ticks = new Map<string, number>();
  const switches = new Map<string, number>();
  for (const p of processes) {
    const t = processTicks(p.pid);
    if (t !== null) ticks.set(p.label, t);
    const c = contextSwitches(p.pid);
    if (c !== null) switches.set(p.label, c);
  }
  return { at: performance.now(), ticks, switches, machine: machineTicks() };
}

export interface CpuUsage {
  /** Milliseconds of CPU per post, per process label. */
  perPostMs: Record<string, number>;
  /** Context switches per post, per process label. */
  switchesPerPost: Record<string, number>;
  /** Share of the whole machine (all cores) that was busy, 0–1. */
  machineBusy: number | null;
}

export function cpuUsage(from: Snapshot, to: Snapshot, posts: number): CpuUsage | null {
  if (posts === 0 || from.ticks.size === 0) return null;
  const perPostMs: Record<string, number> = {};
  for (const [label, start] of from.ticks) {
    const end = to.ticks.get(label);
    if (end !== undefined) perPostMs[label] = Math.round(((end - start) * 1000 * 100) / TICKS_PER_SECOND / posts) / 100;
  }
  const switchesPerPost: Record<string, number> = {};
  for (const [label, start] of from.switches) {
    const end = to.switches.get(label);
    if (end !== undefined) switchesPerPost[label] = Math.round(((end - start) * 100) / posts) / 100;
  }
  const machineBusy = from.machine && to.machine ? (to.machine.busy - from.machine.busy) / Math.max(1, to.machine.total - from.machine.total) : null;
  return { perPostMs, switchesPerPost, machineBusy: machineBusy === null ? null : Math.round(machineBusy * 100) / 100 };
}

export const formatCpu = (u: CpuUsage) =>
  `CPU per post ${Object.entries(u.perPostMs)
    .map(([label, ms]) => `${label} ${ms.toFixed(2)} ms`)
    .join(', ')}${u.machineBusy === null ? '' : `  (machine ${Math.round(u.machineBusy * 100)}% busy)`}\n` +
  `      context switches per post ${Object.entries(u.switchesPerPost)
    .map(([label, n]) => `${label} ${n.toFixed(2)}`)
    .join(', ')}`;
