//! Events across instances on PostgreSQL: LISTEN/NOTIFY on one channel per schema (so
//! gateways kept apart by schema on one database do not hear each other).
//!
//! The fan-out transaction notifies the ids of the outbox rows it fanned out — references,
//! not payloads, comma-joined in chunks well under NOTIFY's 8000-byte limit. PostgreSQL
//! delivers them when (and only if) that transaction commits, to every listening instance,
//! in commit order.

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tg_core::StoreError;
use tg_service::EventSignals;

use crate::error::store_error;

/// The channel, computed by the server: `tg_events_` and 16 hex digits of the md5 of the
/// current schema (channel names are identifiers of at most 63 bytes).
const CHANNEL: &str = "'tg_events_' || left(md5(current_schema()), 16)";
/// Bytes of ids per notification (PostgreSQL refuses payloads from 8000 bytes).
const PAYLOAD_BYTES: usize = 7000;

/// The notification payloads for `ids`: comma-joined, each under [`PAYLOAD_BYTES`].
pub(crate) fn payloads(ids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for id in ids {
        if !current.is_empty() && current.len() + 1 + id.len() > PAYLOAD_BYTES {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(id);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Queues notifications for `ids`; sent on commit.
pub(crate) async fn notify(conn: &mut AsyncPgConnection, ids: &[&str]) -> diesel::QueryResult<()> {
    for payload in payloads(ids) {
        diesel::sql_query(format!("SELECT pg_notify({CHANNEL}, $1)"))
            .bind::<Text, _>(payload)
            .execute(conn)
            .await?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Channel {
    #[diesel(sql_type = Text)]
    channel: String,
}

/// A dedicated connection listening on this schema's channel, as a stream of id batches.
pub(crate) async fn listen(url: &str) -> Result<EventSignals, StoreError> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| StoreError::unavailable_because("cannot open the LISTEN connection", e))?;
    let channel = diesel::sql_query(format!("SELECT {CHANNEL} AS channel"))
        .get_result::<Channel>(&mut conn)
        .await
        .map_err(store_error)?
        .channel;
    // Lower-case hex after a fixed prefix: a plain identifier, nothing to quote.
    diesel::sql_query(format!("LISTEN {channel}"))
        .execute(&mut conn)
        .await
        .map_err(store_error)?;
    let stream = futures_util::stream::unfold(conn, |mut conn| async move {
        let next = {
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            notifications.next().await
        };
        let item = match next? {
            Ok(n) => Ok(n
                .payload
                .split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()),
            Err(e) => Err(store_error(e)),
        };
        Some((item, conn))
    });
    Ok(Box::pin(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_under_the_limit_and_keep_every_id_in_order() {
        let ids: Vec<String> = (0..1000).map(|i| format!("msg_{i:024x}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let chunks = payloads(&refs);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= PAYLOAD_BYTES));
        let back: Vec<&str> = chunks.iter().flat_map(|c| c.split(',')).collect();
        assert_eq!(back, refs);
        assert!(payloads(&[]).is_empty());
    }
}
