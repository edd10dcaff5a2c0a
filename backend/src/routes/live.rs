//! `GET /api/v1/reports/today/stream`: the today view's changes as server-sent events (the
//! listener behind them: [`crate::live`]).

use faceid_protocol::reports::TODAY_STREAM_PATH;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

use crate::AppState;
use crate::auth::Staff;
use crate::error::AppResult;
use crate::live::KEEP_ALIVE;

/// The today view's changes as server-sent events: `ready` once listening, then `attendance`
/// after each committed batch of attendance events (staff; the stream says only that something
/// changed).
#[utoipa::path(get, path = TODAY_STREAM_PATH, tag = "reports", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "server-sent events: `ready`, then `attendance` per change; a comment every 15 s")))]
pub async fn today_stream(
    State(state): State<AppState>,
    Staff(_): Staff,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let rx = state.live.subscribe(&state.db).await?;
    let ready = futures_util::stream::once(async { Ok(Event::default().event("ready").data("")) });
    let changes = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            // A lagging stream missed signals, not data: one event says it all.
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                Some((Ok(Event::default().event("attendance").data("")), rx))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    use futures_util::StreamExt;
    Ok(Sse::new(ready.chain(changes)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
