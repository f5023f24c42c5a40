//! CPU-heavy work (argon2, PDF layout) runs on blocking threads, at most one job per
//! core at a time: more would only queue on the cores, and each argon2 hash holds
//! 19 MiB, so a burst of sign-ups would otherwise grow memory with the thread pool.

use kopek_domain::Error;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

pub async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let _permit = permits().acquire().await.map_err(Error::internal)?;
    tokio::task::spawn_blocking(job)
        .await
        .map_err(Error::internal)
}
