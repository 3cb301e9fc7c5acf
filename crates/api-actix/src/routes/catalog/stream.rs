//! The live seat map: a Server-Sent Events stream of one show's seat changes.

use std::collections::VecDeque;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder};
use domain::catalog::rules;
use domain::{AuthUser, SeatChange, SeatChangeKind, ShowSeats};
use paperclip::actix::{api_v2_operation, web, Apiv2Schema, Apiv2Security, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::dto::SeatsBody;
use crate::http::edge::HeadRequest;
use crate::http::extract::authenticate_with;
use crate::http::ApiError;
use crate::state::{AppState, LiveSeats, SeatSubscription, StreamStart};

/// How long a browser waits before reconnecting a dropped stream.
const RETRY_MS: u32 = 1000;

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct StreamQuery {
    /// The access token, for clients that cannot send headers (a browser's
    /// `EventSource`); the `Authorization` header wins. Never logged.
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// The caller, by the `Authorization` header or else the `access_token` query
/// parameter: the same scheme as every other route, documented once.
#[derive(Debug, Clone, Apiv2Security)]
#[openapi(
    apiKey,
    in = "header",
    name = "Authorization",
    description = "JWT access token from /api/login/, sent as `Bearer <access>`"
)]
pub struct Watcher(pub AuthUser);

impl FromRequest for Watcher {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query_token = || {
            web::Query::<StreamQuery>::from_query(req.query_string())
                .ok()
                .and_then(|query| query.into_inner().access_token)
        };
        ready(authenticate_with(req, query_token).map(Watcher))
    }
}

/// Live seat map of a show
///
/// A Server-Sent Events stream (`text/event-stream`). First an event `snapshot` whose
/// data is the seat map (as `GET /api/shows/{id}/seats/` answers it), then an event
/// `seats` with `{"seats": [{"seat_number", "status"}]}` for each committed change,
/// from any server process. Every event has an `id`, increasing within the stream; a
/// reconnect with `Last-Event-ID` gets the changes it missed, or a fresh `snapshot`
/// when they are no longer kept. A comment line comes every `live.heartbeat_seconds`
/// (15 s) when nothing else does. The token may come as the `access_token` query
/// parameter instead of the `Authorization` header.
#[api_v2_operation(tags(Catalogue), produces = "text/event-stream")]
pub async fn seat_stream(
    state: web::Data<AppState>,
    _caller: Watcher,
    req: HttpRequest,
    id: web::Path<i64>,
    _query: web::Query<StreamQuery>,
) -> Result<SeatStream, ApiError> {
    let show = *id;
    // Any id this stream did not send (a number from elsewhere, or not a number) gets a
    // snapshot, as a too-old one does.
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let subscription = state
        .live
        .subscribe(show, last_id)
        .await?
        .ok_or_else(|| ApiError::not_found("show"))?;
    Ok(SeatStream(Events::new(
        show,
        subscription,
        last_id,
        state.live.clone(),
        state.heartbeat,
    )?))
}

/// The stream's state: what to send next, and where the changes come from.
struct Events {
    show: i64,
    /// Frames ready to go, in order.
    ready: VecDeque<Bytes>,
    changes: Receiver<Arc<SeatChange>>,
    /// The id of the last event sent: anything at or below it is already in the map.
    last_id: u64,
    live: Arc<dyn LiveSeats>,
    heartbeat: Interval,
    ended: bool,
}

impl Events {
    fn new(
        show: i64,
        subscription: SeatSubscription,
        resumed_from: Option<u64>,
        live: Arc<dyn LiveSeats>,
        every: Duration,
    ) -> Result<Self, ApiError> {
        let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut events = Self {
            show,
            ready: VecDeque::from([Bytes::from(format!("retry: {RETRY_MS}\n\n"))]),
            changes: subscription.events,
            last_id: 0,
            live,
            heartbeat,
            ended: false,
        };
        match subscription.start {
            StreamStart::Snapshot { id, seats } => events.push_snapshot(id, *seats)?,
            StreamStart::Replay(changes) => {
                events.last_id = resumed_from.unwrap_or(0);
                for change in changes {
                    events.push_change(&change);
                }
            }
        }
        Ok(events)
    }

    fn push_snapshot(&mut self, id: u64, seats: ShowSeats) -> Result<(), ApiError> {
        let map = rules::seat_map(seats.layout, &seats.show.prices, seats.booked, seats.held)?;
        let data = serde_json::to_string(&SeatsBody(&map))
            .map_err(|error| ApiError::internal(error.to_string()))?;
        self.ready.push_back(Bytes::from(format!(
            "id: {id}\nevent: snapshot\ndata: {data}\n\n"
        )));
        self.last_id = id;
        Ok(())
    }

    /// Queues the change's event, unless the stream has it already.
    fn push_change(&mut self, change: &SeatChange) {
        if change.id <= self.last_id {
            return;
        }
        self.last_id = change.id;
        match &change.kind {
            SeatChangeKind::Seats(seats) => {
                let mut data = String::with_capacity(24 + seats.len() * 40);
                data.push_str("{\"seats\":[");
                for (i, (seat, status)) in seats.iter().enumerate() {
                    if i > 0 {
                        data.push(',');
                    }
                    data.push_str(&format!(
                        "{{\"seat_number\":{seat},\"status\":\"{}\"}}",
                        status.as_str()
                    ));
                }
                data.push_str("]}");
                self.ready.push_back(Bytes::from(format!(
                    "id: {}\nevent: seats\ndata: {data}\n\n",
                    change.id
                )));
            }
            // Marks where a fresh snapshot goes; sent by `next`.
            SeatChangeKind::Reset => self.ready.push_back(Bytes::new()),
        }
    }

    /// The next frame, or `None` when the stream ends: the show is gone, the
    /// subscriber fell too far behind (it reconnects and resumes), or the feed closed.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(frame) = self.ready.pop_front() {
                if !frame.is_empty() {
                    return Some(frame);
                }
                // A reset: the show changed as a whole.
                match self.live.snapshot(self.show).await {
                    Ok(Some((id, seats))) if id >= self.last_id => {
                        self.ready.clear();
                        if self.push_snapshot(id, seats).is_err() {
                            self.ended = true;
                        }
                    }
                    // Gone, or not readable now: the client reconnects and learns which.
                    _ => self.ended = true,
                }
                continue;
            }
            tokio::select! {
                change = self.changes.recv() => match change {
                    Ok(change) => self.push_change(&change),
                    Err(RecvError::Lagged(_) | RecvError::Closed) => self.ended = true,
                },
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
            }
            self.heartbeat.reset();
        }
    }
}

/// A 200 `text/event-stream` of [`Events`].
pub struct SeatStream(Events);

impl Responder for SeatStream {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<BoxBody> {
        // A HEAD gets GET's headers and no body: the stream would never end.
        let head = req.extensions().contains::<HeadRequest>();
        let frames = futures_util::stream::unfold(self.0, move |mut events| async move {
            let frame = if head { None } else { events.next().await }?;
            Some((Ok::<_, actix_web::Error>(frame), events))
        });
        HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
            // Proxies that buffer (nginx) pass each event on at once.
            .insert_header(("X-Accel-Buffering", "no"))
            .streaming(frames)
    }
}

impl paperclip::v2::schema::Apiv2Schema for SeatStream {
    fn name() -> Option<String> {
        None
    }

    fn raw_schema() -> DefaultSchemaRaw {
        DefaultSchemaRaw {
            data_type: Some(paperclip::v2::models::DataType::String),
            ..Default::default()
        }
    }
}

impl OperationModifier for SeatStream {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "200".into(),
            Either::Right(Response {
                description: Some(
                    "OK: a text/event-stream of `snapshot` and `seats` events, until the \
                     client disconnects"
                        .into(),
                ),
                schema: Some(<Self as paperclip::v2::schema::Apiv2Schema>::raw_schema()),
                ..Default::default()
            }),
        );
    }
}
