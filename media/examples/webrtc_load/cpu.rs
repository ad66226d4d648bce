//! CPU time of this process's threads by name: the server's tokio workers
//! and the load generator's share one process, so each side is told apart
//! by its threads' names, read from `/proc/self/task/TID/comm`, and their
//! time on CPU from `/proc/self/task/TID/schedstat` (nanoseconds, Linux).
//! Threads that have ended are not counted: the runtimes measured keep
//! their workers for the whole run.

use std::time::Duration;

/// Time on CPU so far of the threads whose name is `name` (the kernel keeps
/// the first 15 bytes of a thread's name).
pub fn threads_named(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let name = &name[..name.len().min(15)];
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .sum()
}
