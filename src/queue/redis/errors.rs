//! Redis errors as queue errors, and the consumer group's creation (also after a Redis that came
//! back empty answered `NOGROUP`).

use genhook_core::queue::QueueError;
use redis::aio::ConnectionManager;

use super::keys::Keys;
use super::GROUP;

/// A Redis error as a queue error: [`QueueError::Unavailable`] when Redis is away or not ready
/// yet (the sender is asked to retry), [`QueueError::Storage`] otherwise.
pub(super) fn storage(error: redis::RedisError) -> QueueError {
    if is_unavailable(&error) {
        QueueError::Unavailable(Box::new(error))
    } else {
        QueueError::Storage(Box::new(error))
    }
}

/// Whether Redis is away (connection refused, dropped or timed out) or answers that it cannot
/// take commands for now (loading its AOF after a restart, a failover, out of memory, cannot
/// persist), rather than refusing the command itself.
fn is_unavailable(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || matches!(
            error.code(),
            Some(
                "LOADING"
                    | "BUSY"
                    | "TRYAGAIN"
                    | "MASTERDOWN"
                    | "CLUSTERDOWN"
                    | "READONLY"
                    | "OOM"
                    | "MISCONF"
            )
        )
}

/// Creates the consumer group on each stream (and the stream, `MKSTREAM`), reading from the
/// start of the stream; a group that exists already (`BUSYGROUP`) is left alone.
pub(super) async fn create_groups(
    conn: &mut ConnectionManager,
    keys: &Keys,
) -> Result<(), QueueError> {
    for stream in keys.streams() {
        let created: Result<(), _> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(conn)
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => return Err(storage(e)),
            _ => {}
        }
    }
    Ok(())
}
