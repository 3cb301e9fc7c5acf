//! A Server-Sent Events client over a raw HTTP/1.1 connection: one request, then the
//! response body decoded (chunked or read to the end) and split into events, all on
//! one buffer per stream. The live workload holds a thousand of these open in one
//! process that also generates the booking load, so nothing here allocates per event
//! and the caller sees each event as borrowed slices.

use std::io;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes read from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;
/// The most a response head may take.
const MAX_HEAD: usize = 16 * 1024;
/// Buffers that grew past this for one large event (a snapshot) are given back.
const KEEP_CAPACITY: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, `message` when there was none.
    pub kind: &'a str,
    /// The last `id:` field seen on the stream, if any.
    pub id: Option<&'a str>,
    /// The `data:` lines joined with `\n`.
    pub data: &'a [u8],
}

/// The event stream format (the HTML standard's "interpreting an event stream"): lines
/// ended by CRLF, LF or CR; `field: value`; a blank line dispatches; `:` starts a comment.
#[derive(Debug, Default)]
pub struct Parser {
    /// A line that the last input ended in the middle of.
    partial: Vec<u8>,
    /// The last input ended with CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    kind: String,
    data: Vec<u8>,
    last_id: Option<String>,
    /// Comment lines seen: the server's heartbeats.
    pub comments: u64,
}

impl Parser {
    /// Parses the next bytes of the body, calling `on_event` for each complete event.
    pub fn feed(&mut self, mut input: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        if input.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = input.strip_prefix(b"\n") {
                input = rest;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', input) {
            let crlf = input[end] == b'\r' && input.get(end + 1) == Some(&b'\n');
            if input[end] == b'\r' && end + 1 == input.len() {
                self.after_cr = true;
            }
            if self.partial.is_empty() {
                self.line(&input[..end], on_event);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&input[..end]);
                self.line(&line, on_event);
                line.clear();
                if line.capacity() <= KEEP_CAPACITY {
                    self.partial = line;
                }
            }
            input = &input[end + if crlf { 2 } else { 1 }..];
        }
        self.partial.extend_from_slice(input);
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            self.comments += 1;
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.kind.clear();
                self.kind.push_str(&String::from_utf8_lossy(value));
            }
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            // `retry` and unknown fields mean nothing to the bench.
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(Event<'_>)) {
        if !self.data.is_empty() {
            self.data.pop();
            on_event(Event {
                kind: if self.kind.is_empty() {
                    "message"
                } else {
                    &self.kind
                },
                id: self.last_id.as_deref(),
                data: &self.data,
            });
        }
        self.kind.clear();
        self.data.clear();
        if self.data.capacity() > KEEP_CAPACITY {
            self.data = Vec::new();
        }
    }
}

/// `Transfer-Encoding: chunked`, decoded incrementally.
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
    /// The size line read so far.
    size_line: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailer,
    Done,
}

impl Chunked {
    /// Decodes the next bytes, handing each piece of body to `out`; true once the last
    /// chunk and its trailer have been read.
    pub fn decode<'a>(
        &mut self,
        mut input: &'a [u8],
        mut out: impl FnMut(&'a [u8]),
    ) -> io::Result<bool> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(end) = memchr::memchr(b'\n', input) else {
                        self.size_line.extend_from_slice(input);
                        self.check_line_length()?;
                        return Ok(false);
                    };
                    self.size_line.extend_from_slice(&input[..end]);
                    self.check_line_length()?;
                    input = &input[end + 1..];
                    let line = self
                        .size_line
                        .strip_suffix(b"\r")
                        .unwrap_or(&self.size_line);
                    self.state = if self.state == ChunkState::Trailer {
                        if line.is_empty() {
                            ChunkState::Done
                        } else {
                            ChunkState::Trailer
                        }
                    } else {
                        match chunk_size(line)? {
                            0 => ChunkState::Trailer,
                            size => ChunkState::Data(size),
                        }
                    };
                    self.size_line.clear();
                }
                ChunkState::Data(left) => {
                    let take = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out(&input[..take]);
                    input = &input[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd => {
                    match input[0] {
                        b'\r' => {}
                        b'\n' => self.state = ChunkState::Size,
                        _ => return Err(invalid("no CRLF after a chunk")),
                    }
                    input = &input[1..];
                }
                ChunkState::Done => return Err(invalid("bytes after the last chunk")),
            }
        }
        Ok(self.state == ChunkState::Done)
    }

    fn check_line_length(&self) -> io::Result<()> {
        if self.size_line.len() > 1024 {
            return Err(invalid("a chunk size or trailer line over 1 KiB"));
        }
        Ok(())
    }
}

/// The hexadecimal size at the start of a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    let text = std::str::from_utf8(digits).map_err(|_| invalid("a chunk size is not text"))?;
    u64::from_str_radix(text, 16).map_err(|_| invalid("a chunk size is not hexadecimal"))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// How the response body is delimited.
#[derive(Debug)]
enum Body {
    Chunked(Chunked),
    /// To the end of the connection.
    Close,
}

/// An open event stream.
pub struct Stream {
    tcp: TcpStream,
    buffer: Vec<u8>,
    /// Body bytes that came with the response head and are not parsed yet.
    pending: usize,
    body: Body,
    ended: bool,
    pub parser: Parser,
}

impl Stream {
    /// Sends `GET path` with `Authorization: Bearer token` to `addr` (`host:port`) and
    /// reads the response head: a 200 of `text/event-stream`, or an error quoting the
    /// answer.
    pub async fn open(
        addr: &str,
        path: &str,
        token: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let connect = async {
            let mut tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
            );
            tcp.write_all(request.as_bytes()).await?;
            let mut buffer = Vec::with_capacity(READ_BUFFER);
            loop {
                if let Some(end) = memchr::memmem::find(&buffer, b"\r\n\r\n") {
                    return Ok::<_, io::Error>((tcp, buffer, end + 4));
                }
                if buffer.len() > MAX_HEAD {
                    return Err(invalid("a response head over 16 KiB"));
                }
                if tcp.read_buf(&mut buffer).await? == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed before the response head",
                    ));
                }
            }
        };
        let (tcp, mut buffer, head_end) = tokio::time::timeout(timeout, connect)
            .await
            .with_context(|| format!("GET {path}: no response head within {timeout:?}"))?
            .with_context(|| format!("GET {path}"))?;
        let head = Head::parse(&buffer[..head_end]).with_context(|| format!("GET {path}"))?;
        if head.status != 200 {
            let body = String::from_utf8_lossy(&buffer[head_end..]);
            bail!(
                "GET {path}: HTTP {}: {}",
                head.status,
                body.chars().take(300).collect::<String>()
            );
        }
        if !head
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/event-stream"))
        {
            bail!(
                "GET {path}: Content-Type {:?}, not text/event-stream",
                head.content_type
            );
        }
        buffer.drain(..head_end);
        let pending = buffer.len();
        buffer.resize(READ_BUFFER.max(pending), 0);
        Ok(Self {
            tcp,
            buffer,
            pending,
            body: if head.chunked {
                Body::Chunked(Chunked::default())
            } else {
                Body::Close
            },
            ended: false,
            parser: Parser::default(),
        })
    }

    /// Waits for the next bytes and parses them, calling `on_event` for every event they
    /// complete; false once the body has ended. Cancel-safe: nothing is read unless it
    /// is parsed in the same call.
    pub async fn read(&mut self, on_event: &mut impl FnMut(Event<'_>)) -> anyhow::Result<bool> {
        if self.ended {
            return Ok(false);
        }
        let n = if self.pending > 0 {
            std::mem::take(&mut self.pending)
        } else {
            self.tcp.read(&mut self.buffer).await?
        };
        let Self {
            buffer,
            body,
            parser,
            ended,
            ..
        } = self;
        let input = &buffer[..n];
        match body {
            Body::Close if n == 0 => *ended = true,
            Body::Close => parser.feed(input, on_event),
            Body::Chunked(_) if n == 0 => bail!("the connection closed in the middle of the body"),
            Body::Chunked(chunked) => {
                if chunked.decode(input, |data| parser.feed(data, on_event))? {
                    *ended = true;
                }
            }
        }
        Ok(!*ended)
    }
}

/// What the bench needs of a response head.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    content_type: Option<String>,
    chunked: bool,
}

impl Head {
    fn parse(head: &[u8]) -> anyhow::Result<Self> {
        let text = std::str::from_utf8(head).context("the response head is not UTF-8")?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an HTTP/1.x status line: {status_line:?}"))?;
        let mut content_type = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.to_ascii_lowercase());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            }
        }
        Ok(Self {
            status,
            content_type,
            chunked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (kind, id, data) of every event in `input`, fed in pieces of `step` bytes.
    fn events(input: &[u8], step: usize) -> Vec<(String, Option<String>, String)> {
        let mut parser = Parser::default();
        let mut seen = Vec::new();
        for piece in input.chunks(step) {
            parser.feed(piece, &mut |event: Event<'_>| {
                seen.push((
                    event.kind.to_owned(),
                    event.id.map(str::to_owned),
                    String::from_utf8(event.data.to_vec()).unwrap(),
                ))
            });
        }
        seen
    }

    fn owned(kind: &str, id: Option<&str>, data: &str) -> (String, Option<String>, String) {
        (kind.into(), id.map(Into::into), data.into())
    }

    const STREAM: &[u8] = b": hello\n\nevent: snapshot\nid: 1\ndata: [{\"seat_number\":1,\"status\":\"available\"}]\n\n\
        : heartbeat\n\nevent: seats\nid: 2\ndata: {\"seats\":[{\"seat_number\":1,\"status\":\"booked\"}]}\n\n";

    #[test]
    fn events_come_out_whole_however_the_bytes_are_split() {
        let expected = vec![
            owned(
                "snapshot",
                Some("1"),
                "[{\"seat_number\":1,\"status\":\"available\"}]",
            ),
            owned(
                "seats",
                Some("2"),
                "{\"seats\":[{\"seat_number\":1,\"status\":\"booked\"}]}",
            ),
        ];
        for step in [1, 2, 3, 7, 64, STREAM.len()] {
            assert_eq!(events(STREAM, step), expected, "pieces of {step} bytes");
        }
    }

    #[test]
    fn comments_are_counted_not_dispatched() {
        let mut parser = Parser::default();
        let mut count = 0;
        parser.feed(STREAM, &mut |_| count += 1);
        assert_eq!((count, parser.comments), (2, 2));
    }

    #[test]
    fn crlf_and_cr_end_lines_too() {
        let crlf = b"event: seats\r\ndata: a\r\ndata: b\r\n\r\nid: 7\rdata:c\r\r";
        let expected = vec![
            owned("seats", None, "a\nb"),
            owned("message", Some("7"), "c"),
        ];
        for step in [1, 2, crlf.len()] {
            assert_eq!(events(crlf, step), expected, "pieces of {step} bytes");
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_its_type_is_forgotten() {
        let input = b"event: seats\n\ndata: x\n\n";
        assert_eq!(events(input, 1), vec![owned("message", None, "x")]);
    }

    #[test]
    fn the_id_carries_over_to_later_events() {
        let input = b"id: 5\ndata: a\n\ndata: b\n\n";
        assert_eq!(
            events(input, 4),
            vec![
                owned("message", Some("5"), "a"),
                owned("message", Some("5"), "b")
            ]
        );
    }

    #[test]
    fn a_large_event_leaves_no_large_buffer_behind() {
        let mut input = b"event: snapshot\ndata: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1 << 20));
        input.extend_from_slice(b"\n\n");
        let mut parser = Parser::default();
        let mut sizes = Vec::new();
        for piece in input.chunks(READ_BUFFER) {
            parser.feed(piece, &mut |event| sizes.push(event.data.len()));
        }
        assert_eq!(sizes, vec![1 << 20]);
        assert!(parser.data.capacity() <= KEEP_CAPACITY);
        assert!(parser.partial.capacity() <= KEEP_CAPACITY);
    }

    /// `body` chunked into pieces of `size`, with an extension and a trailer.
    fn chunked(body: &[u8], size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in body.chunks(size) {
            out.extend_from_slice(format!("{:X};ext=1\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
        out
    }

    #[test]
    fn chunked_bodies_decode_however_the_bytes_are_split() {
        let encoded = chunked(STREAM, 13);
        for step in [1, 2, 5, 64, encoded.len()] {
            let mut decoder = Chunked::default();
            let mut body = Vec::new();
            let mut done = false;
            for piece in encoded.chunks(step) {
                assert!(!done, "bytes after the end");
                done = decoder
                    .decode(piece, |data| body.extend_from_slice(data))
                    .unwrap();
            }
            assert!(done, "pieces of {step} bytes: the end was not seen");
            assert_eq!(body, STREAM, "pieces of {step} bytes");
        }
    }

    #[test]
    fn a_bad_chunk_size_is_an_error() {
        let mut decoder = Chunked::default();
        assert!(decoder.decode(b"zz\r\n", |_| {}).is_err());
    }

    #[test]
    fn the_head_gives_status_type_and_framing() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
            Transfer-Encoding: chunked\r\ncache-control: no-cache\r\n\r\n";
        assert_eq!(
            Head::parse(head).unwrap(),
            Head {
                status: 200,
                content_type: Some("text/event-stream".into()),
                chunked: true
            }
        );
        let head = b"HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\n\r\n";
        assert_eq!(Head::parse(head).unwrap().status, 404);
        assert!(Head::parse(b"SSH-2.0\r\n\r\n").is_err());
    }

    /// The whole client against a tiny server that answers like an SSE endpoint.
    #[tokio::test]
    async fn a_stream_reads_events_from_a_chunked_response() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            while memchr::memmem::find(&request, b"\r\n\r\n").is_none() {
                tcp.read_buf(&mut request).await.unwrap();
            }
            let mut answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                transfer-encoding: chunked\r\n\r\n"
                .to_vec();
            answer.extend(chunked(STREAM, 10));
            tcp.write_all(&answer).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        let mut stream = Stream::open(&addr, "/s/", "t0k", Duration::from_secs(5))
            .await
            .unwrap();
        let mut kinds = Vec::new();
        while stream
            .read(&mut |event| kinds.push(event.kind.to_owned()))
            .await
            .unwrap()
        {}
        assert_eq!(kinds, ["snapshot", "seats"]);
        assert_eq!(stream.parser.comments, 2);
        let request = server.await.unwrap();
        assert!(request.starts_with("GET /s/ HTTP/1.1\r\n"), "{request}");
        assert!(
            request.contains("\r\nAuthorization: Bearer t0k\r\n"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn a_refused_stream_quotes_the_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = tcp.read(&mut request).await.unwrap();
            tcp.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 20\r\n\r\n{\"code\":\"not_found\"}",
            )
            .await
            .unwrap();
        });
        let error = Stream::open(&addr, "/s/", "t", Duration::from_secs(5))
            .await
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("HTTP 404"), "{error:#}");
    }
}
