//! CPU time of this process's threads by name: the server's tokio workers
//! and the load generator's share one process, so each side is told apart
//! by its threads' names, read from `/proc/self/task/TID/comm`. From
//! `/proc/self/task/TID/schedstat` (nanoseconds, Linux) come each thread's
//! time on a CPU and its time runnable but waiting for one: on a shared
//! machine the second says how much of the CPU the threads wanted they were
//! denied. Threads that have ended are not counted: the runtimes measured
//! keep their workers for the whole run.

use std::ops::Sub;
use std::time::Duration;

/// Scheduler times of a set of threads, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadTimes {
    /// On a CPU.
    pub on_cpu: Duration,
    /// Runnable, waiting in a run queue.
    pub waiting: Duration,
}

impl ThreadTimes {
    /// The share of the time the threads wanted a CPU that they waited for
    /// one (0 on an idle machine).
    pub fn starved(&self) -> f64 {
        let wanted = (self.on_cpu + self.waiting).as_secs_f64();
        if wanted > 0.0 {
            self.waiting.as_secs_f64() / wanted
        } else {
            0.0
        }
    }
}

impl Sub for ThreadTimes {
    type Output = Self;

    fn sub(self, earlier: Self) -> Self {
        Self {
            on_cpu: self.on_cpu.saturating_sub(earlier.on_cpu),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

/// Scheduler times so far of the threads whose name is `name` (the kernel
/// keeps the first 15 bytes of a thread's name).
pub fn threads_named(name: &str) -> ThreadTimes {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return ThreadTimes::default();
    };
    let name = &name[..name.len().min(15)];
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| {
            let mut fields = stat.split_whitespace().map(str::parse::<u64>);
            match (fields.next(), fields.next()) {
                (Some(Ok(on_cpu)), Some(Ok(waiting))) => Some(ThreadTimes {
                    on_cpu: Duration::from_nanos(on_cpu),
                    waiting: Duration::from_nanos(waiting),
                }),
                _ => None,
            }
        })
        .fold(ThreadTimes::default(), |sum, times| ThreadTimes {
            on_cpu: sum.on_cpu + times.on_cpu,
            waiting: sum.waiting + times.waiting,
        })
}
