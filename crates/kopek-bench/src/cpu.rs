//! CPU time spent so far, read from `/proc` (clock ticks are 100 a second on
//! Linux, `getconf CLK_TCK`): the whole machine's, the server's and PostgreSQL's.
//! On two shared cores what one piece of work costs is what it takes from the
//! others, wherever it is spent, so the bench reports all three.

use std::ops::{AddAssign, Sub};

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

    /// `f` of each of the three, with the same of `other`.
    fn with(self, other: Spent, f: impl Fn(f64, f64) -> f64) -> Spent {
        Spent {
            machine: f(self.machine, other.machine),
            server: f(self.server, other.server),
            postgres: f(self.postgres, other.postgres),
        }
    }

    /// Each times `k`.
    pub fn scaled(self, k: f64) -> Spent {
        self.with(Spent::default(), |s, _| s * k)
    }

    /// Microseconds of each per unit of work.
    pub fn per(self, units: f64) -> Spent {
        self.scaled(1e6 / units.max(1.0))
    }

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
        self.with(earlier, |a, b| a - b)
    }
}

impl AddAssign for Spent {
    fn add_assign(&mut self, more: Spent) {
        *self = self.with(more, |a, b| a + b);
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
struct Process {
    name: String,
    own: f64,
    children: f64,
}

fn process(pid: u32) -> Option<Process> {
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
fn postgres() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process)
        .filter(|p| p.name == "postgres")
        .map(|p| p.own + p.children)
        .sum()
}
