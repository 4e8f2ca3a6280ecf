//! CPU time from /proc, for benches that report where the CPU went per fax:
//! a figure that holds on a machine shared with other work, where wall-clock
//! rates do not.

#![allow(dead_code)] // each bench that includes this file uses only some of it

/// The machine's CPU time so far, (busy, all), in clock ticks, from /proc/stat.
pub fn machine_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    let all: u64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th columns.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (all - idle, all)
}

/// CPU time (user + system, clock ticks) the processes `pids` used so far
/// (every thread's: /proc/PID/stat sums the thread group).
pub fn process_cpu(pids: &[u32]) -> u64 {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The fields after the command name (which ends with the last ')'), by position: the state is
            // the 1st, utime and stime the 12th and 13th. (Not by parsing what looks numeric: a process
            // without a terminal has tpgid -1, and skipping it shifted utime out and cutime in.)
            let rest: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
            let field = |i: usize| rest.get(i).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
            field(11) + field(12)
        })
        .sum()
}

/// Milliseconds of `ticks` clock ticks (the kernel's USER_HZ, 100 on Linux) per one of `n`.
#[allow(clippy::cast_precision_loss)]
pub fn ms_per(ticks: u64, n: usize) -> f64 {
    if n == 0 { 0.0 } else { ticks as f64 * 10.0 / n as f64 }
}
