//! CPU time spent so far, read from `/proc` (clock ticks are 100 a second on
//! Linux, `getconf CLK_TCK`): the whole machine's, the server's and PostgreSQL's.
//! On two shared cores what one piece of work costs is what it takes from the
//! others, wherever it is spent, so the bench reports all three.

use std::ops::{Add, Sub};

/// Seconds of CPU: the machine's busy time, the server process's, and that of
/// every PostgreSQL process (with those that have exited).
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    pub machine: f64,
    pub server: f64,
    pub postgres: f64,
}

impl Spent {
    pub fn now(server_pid: u32) -> Spent {
        Spent {
            machine: machine(),
            server: process(server_pid).map_or(0.0, |p| p.own),
            postgres: postgres(),
        }
    }

    /// Each times `k`.
    pub fn scaled(self, k: f64) -> Spent {
        Spent {
            machine: self.machine * k,
            server: self.server * k,
            postgres: self.postgres * k,
        }
    }

    /// Microseconds of each per unit of work.
    pub fn per(self, units: f64) -> Spent {
        let per = |s: f64| 1e6 * s / units.max(1.0);
        Spent {
            machine: per(self.machine),
            server: per(self.server),
            postgres: per(self.postgres),
        }
    }
}

impl Spent {
    /// Microseconds a unit, as the report says them (PostgreSQL's only on its
    /// backend: on SQLite it is idle).
    pub fn describe(&self, backend: &str) -> String {
        if backend == "postgres" {
            format!(
                "server {:.0} µs, PostgreSQL {:.0} µs, the whole machine {:.0} µs",
                self.server, self.postgres, self.machine
            )
        } else {
            format!(
                "server {:.0} µs, the whole machine {:.0} µs",
                self.server, self.machine
            )
        }
    }
}

impl Sub for Spent {
    type Output = Spent;

    fn sub(self, earlier: Spent) -> Spent {
        Spent {
            machine: self.machine - earlier.machine,
            server: self.server - earlier.server,
            postgres: self.postgres - earlier.postgres,
        }
    }
}

/// The machine's busy time: user, nice, system, irq and softirq from the first
/// line of `/proc/stat` (not idle, iowait, nor steal: time the hypervisor gave to
/// other machines).
pub fn machine() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let ticks: Vec<f64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .map_while(|f| f.parse().ok())
                .collect();
            let busy: f64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| ticks.get(i)).sum();
            Some(busy / 100.0)
        })
        .unwrap_or(0.0)
}

/// A process's name, and its CPU seconds: its own, and its children's that have
/// exited and been waited for.
pub struct Process {
    pub name: String,
    pub own: f64,
    pub children: f64,
}

pub fn process(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    // Fields after the name: utime, stime, cutime and cstime are the 12th to 15th.
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    let [utime, stime, cutime, cstime] = fields[..] else {
        return None;
    };
    Some(Process {
        name,
        own: (utime + stime) / 100.0,
        children: (cutime + cstime) / 100.0,
    })
}

/// Every PostgreSQL process's CPU, with the backends that have ended (their time
/// is the postmaster's children's).
pub fn postgres() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process)
        .filter(|p| p.name == "postgres")
        .map(|p| p.own + p.children)
        .sum()
}

impl Add for Spent {
    type Output = Spent;

    fn add(self, other: Spent) -> Spent {
        self - other.scaled(-1.0)
    }
}
