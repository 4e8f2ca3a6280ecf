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

/// CPU time (user + system, clock ticks) the processes `pids` used so far.
pub fn process_cpu(pids: &[u32]) -> u64 {
    pids.iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the command name (which ends with the last ')'): utime and stime are the 12th and 13th.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<u64> = rest.split_whitespace().filter_map(|t| t.parse().ok()).collect();
            f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)
        })
        .sum()
}

/// Milliseconds of `ticks` clock ticks (the kernel's USER_HZ, 100 on Linux) per one of `n`.
#[allow(clippy::cast_precision_loss)]
pub fn ms_per(ticks: u64, n: usize) -> f64 {
    if n == 0 { 0.0 } else { ticks as f64 * 10.0 / n as f64 }
}
