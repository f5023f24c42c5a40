//! The test clock (`KOPEK_TEST_MODE=true` only): Kopek's time moved forward, never
//! back, so a year of billing can be rehearsed in seconds. Moving it runs what
//! became due before answering. The offset is kept in the database, so every
//! process on it follows (each reads it on its scheduler's passes).

use crate::Core;
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_store::test_clock;
use std::sync::atomic::Ordering;

fn enabled(core: &Core) -> Result<(), Error> {
    if core.settings.test_mode {
        Ok(())
    } else {
        // As if the endpoint did not exist.
        Err(Error::NotFound {
            what: "test clock",
            id: "(KOPEK_TEST_MODE is off)".to_owned(),
        })
    }
}

/// Reads the shared offset into this process (a no-op outside test mode).
pub async fn refresh(core: &Core) -> Result<(), Error> {
    if !core.settings.test_mode {
        return Ok(());
    }
    let mut conn = core.store.conn().await?;
    let offset = test_clock::offset(&mut conn).await?;
    core.clock_offset.store(offset, Ordering::Relaxed);
    Ok(())
}

/// The clock's time.
pub async fn now(core: &Core) -> Result<Timestamp, Error> {
    enabled(core)?;
    refresh(core).await?;
    Ok(core.now())
}

/// Moves the clock to `to` (not before its present time), then does everything
/// due by then. Answers the clock's time after the move.
pub async fn advance(core: &Core, to: Timestamp) -> Result<Timestamp, Error> {
    enabled(core)?;
    refresh(core).await?;
    let current = core.now();
    if to < current {
        return Err(Error::FailedPrecondition(format!(
            "The test clock only moves forward; it is at {}",
            current.rfc3339()
        )));
    }
    let offset = core.clock_offset.load(Ordering::Relaxed) + (to.micros() - current.micros());
    {
        let mut conn = core.store.conn().await?;
        test_clock::set_offset(&mut conn, offset).await?;
    }
    core.clock_offset.store(offset, Ordering::Relaxed);
    // Each pass may make more due (a period ended makes it past due, which the
    // same move may carry past its grace days); stop when one does nothing (what
    // is left then cannot be done, such as a renewal whose plan left the catalog).
    // Closing documents come due as well, a batch a pass.
    while crate::subscriptions::run_due(core).await?.total() > 0
        || crate::closing::run_due(core).await?.0 > 0
    {}
    Ok(core.now())
}
