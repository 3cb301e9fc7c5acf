//! The live seat map: a Server-Sent Events stream of one show's seat changes.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder};
use domain::catalog::rules;
use domain::{AuthUser, SeatChange, SeatChangeKind, ShowSeats};
use paperclip::actix::{api_v2_operation, web, Apiv2Schema, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::seat_map_json;
use crate::http::answers::AnswerCache;
use crate::http::edge::HeadRequest;
use crate::http::extract::{authenticate_with, Authenticated};
use crate::http::ApiError;
use crate::state::{AppState, LiveSeats, StreamStart};

/// How long a browser waits before reconnecting a dropped stream.
const RETRY_MS: u32 = 1000;
/// The least time between two writes to one subscriber; changes meanwhile go together.
const COALESCE: Duration = Duration::from_millis(50);

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct StreamQuery {
    /// The access token, for clients that cannot send headers (a browser's
    /// `EventSource`); the `Authorization` header wins. Never logged.
    pub access_token: Option<String>,
}

/// The caller, by the `Authorization` header or else the `access_token` query
/// parameter.
#[derive(Debug, Clone)]
pub struct Watcher(pub AuthUser);

/// Documented as the bearer scheme of every other route.
impl paperclip::v2::schema::Apiv2Schema for Watcher {
    fn name() -> Option<String> {
        Authenticated::name()
    }

    fn security_scheme() -> Option<paperclip::v2::models::SecurityScheme> {
        Authenticated::security_scheme()
    }
}

impl OperationModifier for Watcher {}

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
    // Read before the subscription: a snapshot at this version may share its bytes.
    let version = state.live.seats_version(show);
    let subscription = state
        .live
        .subscribe(show, last_id)
        .await?
        .ok_or_else(|| ApiError::not_found("show"))?;
    let mut events = Events::new(
        show,
        subscription.events,
        state.live.clone(),
        state.answers.clone(),
        state.heartbeat,
        state.stopping.subscribe(),
    );
    match subscription.start {
        StreamStart::Snapshot { id, seats } => events.push_snapshot(id, *seats, version)?,
        StreamStart::Replay(changes) => {
            events.last_id = last_id.unwrap_or(0);
            for change in changes {
                events.push_change(&change);
            }
        }
    }
    Ok(SeatStream(events))
}

/// The stream's state: what to send next, and where the changes come from.
struct Events {
    show: i64,
    /// Frames ready to go, in order.
    ready: VecDeque<Frame>,
    /// When the last frame went out: changes wait a moment after it, to go together.
    sent_at: Instant,
    changes: Receiver<Arc<SeatChange>>,
    /// The id of the last event sent: anything at or below it is already in the map.
    last_id: u64,
    live: Arc<dyn LiveSeats>,
    answers: Arc<AnswerCache>,
    heartbeat: Interval,
    stopping: tokio::sync::watch::Receiver<bool>,
    ended: bool,
}

impl Events {
    fn new(
        show: i64,
        changes: Receiver<Arc<SeatChange>>,
        live: Arc<dyn LiveSeats>,
        answers: Arc<AnswerCache>,
        every: Duration,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            show,
            ready: VecDeque::from([Frame::Bytes(Bytes::from(format!("retry: {RETRY_MS}\n\n")))]),
            sent_at: Instant::now(),
            changes,
            last_id: 0,
            live,
            answers,
            heartbeat,
            stopping,
            ended: false,
        }
    }

    /// Queues the map as event `id`. Its JSON is the seat map's, shared with the seat map
    /// route and every other subscriber while the show's `version` (read before the
    /// snapshot was taken) is current.
    fn push_snapshot(
        &mut self,
        id: u64,
        seats: ShowSeats,
        version: Option<(u64, u64)>,
    ) -> Result<(), ApiError> {
        let version = version.filter(|(last, _)| *last == id);
        let data = match self.answers.seat_map(self.show, version) {
            Some(json) => json,
            None => {
                let map =
                    rules::seat_map(seats.layout, &seats.show.prices, seats.booked, seats.held)?;
                let json = seat_map_json(&map)?;
                self.answers.keep_seat_map(self.show, version, json.clone());
                json
            }
        };
        let head = format!("id: {id}\nevent: snapshot\ndata: ");
        self.ready.push_back(Frame::Bytes(Bytes::from(head)));
        self.ready.push_back(Frame::Bytes(data));
        self.ready
            .push_back(Frame::Bytes(Bytes::from_static(b"\n\n")));
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
            SeatChangeKind::Seats(_) => {
                let event = RENDERED.with(|rendered| rendered.borrow_mut().event(change));
                match self.ready.back_mut() {
                    Some(Frame::Events(events)) => events.extend_from_slice(&event),
                    _ => self
                        .ready
                        .push_back(Frame::Events(BytesMut::from(&event[..]))),
                }
            }
            SeatChangeKind::Reset => self.ready.push_back(Frame::Reset),
        }
    }

    /// The next frame, or `None` when the stream ends: the show is gone, the
    /// subscriber fell too far behind (it reconnects and resumes), or the feed closed.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.ended {
                return None;
            }
            match self.ready.pop_front() {
                Some(Frame::Bytes(bytes)) => return Some(self.sent(bytes)),
                Some(Frame::Events(events)) => return Some(self.sent(events.freeze())),
                Some(Frame::Reset) => {
                    // The show changed as a whole.
                    let version = self.live.seats_version(self.show);
                    match self.live.snapshot(self.show).await {
                        Ok(Some((id, seats))) if id >= self.last_id => {
                            self.ready.clear();
                            if self.push_snapshot(id, seats, version).is_err() {
                                self.ended = true;
                            }
                        }
                        // Gone, or not readable now: the client reconnects and learns which.
                        _ => self.ended = true,
                    }
                    continue;
                }
                None => {}
            }
            tokio::select! {
                change = self.changes.recv() => match change {
                    Ok(change) => self.push_change(&change),
                    Err(RecvError::Lagged(_) | RecvError::Closed) => self.ended = true,
                },
                _ = self.heartbeat.tick() => {
                    return Some(self.sent(Bytes::from_static(b": keep-alive\n\n")));
                }
                // The client reconnects, to another process.
                _ = stopped(&mut self.stopping) => self.ended = true,
            }
            if self.ended {
                continue;
            }
            // A busy show sends one write per subscriber per moment, not one per change:
            // with 1,000 subscribers, a write per change would cost more than the bookings.
            tokio::time::sleep_until(self.sent_at + COALESCE).await;
            loop {
                match self.changes.try_recv() {
                    Ok(change) => self.push_change(&change),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Lagged(_) | TryRecvError::Closed) => {
                        self.ended = true;
                        break;
                    }
                }
            }
        }
    }

    fn sent(&mut self, frame: Bytes) -> Bytes {
        self.sent_at = Instant::now();
        self.heartbeat.reset();
        frame
    }
}

/// Once the process is stopping (or can no longer tell).
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// What the stream sends next.
enum Frame {
    Bytes(Bytes),
    /// `seats` events, one after the other.
    Events(BytesMut),
    /// A fresh snapshot, read when its turn comes.
    Reset,
}

/// The last events rendered on this thread: every subscriber of a show sends the same
/// bytes for a change, rendered once per worker thread.
struct Rendered {
    by_id: HashMap<u64, Bytes>,
    order: VecDeque<u64>,
}

const RENDERED_KEPT: usize = 1024;

thread_local! {
    static RENDERED: RefCell<Rendered> = RefCell::new(Rendered {
        by_id: HashMap::with_capacity(RENDERED_KEPT),
        order: VecDeque::with_capacity(RENDERED_KEPT),
    });
}

impl Rendered {
    fn event(&mut self, change: &SeatChange) -> Bytes {
        if let Some(event) = self.by_id.get(&change.id) {
            return event.clone();
        }
        let event = Bytes::from(render(change));
        if self.order.len() == RENDERED_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
        self.order.push_back(change.id);
        self.by_id.insert(change.id, event.clone());
        event
    }
}

/// The `seats` event of a change.
fn render(change: &SeatChange) -> String {
    let SeatChangeKind::Seats(seats) = &change.kind else {
        return String::new();
    };
    let mut event = String::with_capacity(48 + seats.len() * 40);
    let _ = write!(
        event,
        "id: {}\nevent: seats\ndata: {{\"seats\":[",
        change.id
    );
    for (i, (seat, status)) in seats.iter().enumerate() {
        if i > 0 {
            event.push(',');
        }
        let _ = write!(
            event,
            "{{\"seat_number\":{seat},\"status\":\"{}\"}}",
            status.as_str()
        );
    }
    event.push_str("]}\n\n");
    event
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
