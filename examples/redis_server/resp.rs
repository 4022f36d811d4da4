//! RESP2, the Redis wire protocol: an incremental request parser with
//! limits, reply encoders, and the per-connection read buffer.
//!
//! Nothing here does I/O or knows about coroutines, so the same code serves
//! the coshare server and the tokio comparison server
//! (`benches/redis_tokio.rs`), and it is unit-tested on plain byte strings.
//!
//! # Requests
//!
//! A request is either a *multibulk* frame, `*<n>\r\n` followed by `n` bulk
//! strings `$<len>\r\n<len bytes>\r\n` (what every client library sends), or
//! an *inline* command, one line of space-separated words with Redis's
//! quoting rules (what a person types into `telnet`). As in Redis, any
//! input that does not start with `*` is inline.
//!
//! [`Parser::parse`] is called with the unread input; it returns a complete
//! request (its arguments borrow the input, no copy), or says how much more
//! input it needs, or reports an error. It keeps its place inside a frame
//! that arrived only in part, so a large request that trickles in is not
//! parsed again from the start on every read.
//!
//! # Errors and limits
//!
//! Malformed input gets a `-ERR Protocol error: ...` reply. Whether the
//! connection survives depends on whether the parser still knows where the
//! next request starts:
//!
//! * *Recoverable* ([`Parsed::Invalid`]): the bad input is one complete
//!   line and no frame was in progress: an inline command with unbalanced
//!   quotes, or a `*` header that is not a number. The line is skipped and
//!   the next request is parsed normally.
//! * *Fatal* ([`Parsed::Fatal`]): an error inside a multibulk frame (a bad
//!   `$` header, a bulk string not followed by CRLF), after which the extent
//!   of the frame is unknown; and every limit below. The connection replies
//!   and is closed, as Redis does.
//!
//! Every byte the parser asks the connection to buffer is bounded:
//!
//! | limit | default (as Redis) | checked |
//! |---|---|---|
//! | [`Limits::max_bulk_len`] | 512 MiB | at the `$` header, before the payload arrives |
//! | [`Limits::max_args`] | 1 Mi | at the `*` header |
//! | [`Limits::max_inline_len`] | 64 KiB | as soon as that many bytes hold no newline |
//! | [`Limits::max_request_len`] | 1 GiB | at each `$` header, for the whole frame |
//!
//! A `*` or `$` header line longer than 32 bytes (no number has that many
//! digits) is rejected at once too. So a connection never holds more than
//! one request of at most `max_request_len` bytes plus one read.

use std::fmt;

/// The bounds on one request. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string (one argument), in bytes.
    pub max_bulk_len: usize,
    /// The most arguments in one multibulk request.
    pub max_args: usize,
    /// The longest inline command line, in bytes.
    pub max_inline_len: usize,
    /// The longest multibulk request, headers included, in bytes.
    pub max_request_len: usize,
}

impl Default for Limits {
    /// Redis's defaults: `proto-max-bulk-len` 512 MiB, 1024 * 1024
    /// arguments, 64 KiB inline commands, and `client-query-buffer-limit`
    /// 1 GiB.
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_args: 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_request_len: 1024 * 1024 * 1024,
        }
    }
}

/// The longest `*<n>` or `$<len>` header line, CRLF included.
const MAX_HEADER_LEN: usize = 32;

/// Arguments preallocated for a multibulk request, whatever its header
/// claims (a header alone must not allocate much).
const MAX_PREALLOC_ARGS: usize = 1024;

/// Malformed or oversized input. Its [`Display`](fmt::Display) is the text
/// after `-ERR `.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `*` header that is not a decimal integer.
    InvalidMultibulkLength,
    /// A `*` header asking for more than [`Limits::max_args`] arguments.
    TooManyArguments {
        /// The count in the header.
        count: i64,
        /// The limit.
        limit: usize,
    },
    /// A `$` header that is not a non-negative decimal integer.
    InvalidBulkLength,
    /// A bulk string longer than [`Limits::max_bulk_len`].
    BulkTooLong {
        /// The length in the header.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A multibulk request longer than [`Limits::max_request_len`].
    RequestTooLong {
        /// The limit.
        limit: usize,
    },
    /// Something other than `$` where a bulk string should start.
    ExpectedBulk(u8),
    /// A bulk string's payload not followed by CRLF.
    MissingCrlf,
    /// A header line too long to hold a number.
    HeaderTooLong,
    /// An inline command longer than [`Limits::max_inline_len`].
    InlineTooLong {
        /// The limit.
        limit: usize,
    },
    /// An inline command with an unterminated quote, or a closing quote
    /// not followed by a space.
    UnbalancedQuotes,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::TooManyArguments { count, limit } => write!(
                f,
                "multibulk length {count} exceeds the limit of {limit} arguments"
            ),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::BulkTooLong { len, limit } => write!(
                f,
                "bulk length {len} exceeds the limit of {limit} bytes (proto-max-bulk-len)"
            ),
            ProtocolError::RequestTooLong { limit } => write!(
                f,
                "request exceeds the limit of {limit} bytes (client-query-buffer-limit)"
            ),
            ProtocolError::ExpectedBulk(got) => {
                write!(f, "expected '$', got '{}'", got.escape_ascii())
            }
            ProtocolError::MissingCrlf => f.write_str("expected CRLF after bulk string"),
            ProtocolError::HeaderTooLong => f.write_str("too big count string"),
            ProtocolError::InlineTooLong { limit } => {
                write!(f, "too big inline request (limit {limit} bytes)")
            }
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
        }
    }
}

/// The arguments of one request, borrowed from the input (multibulk) or
/// from the parser (inline, unquoted).
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    spans: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Argument `i` (0 is the command name).
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pub fn arg(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.spans[i];
        &self.data[start..end]
    }

    /// The arguments from `from` on.
    pub fn iter_from(&self, from: usize) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        self.spans[from.min(self.spans.len())..]
            .iter()
            .map(move |&(start, end)| &data[start..end])
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter_from(0).map(|a| a.escape_ascii().to_string()))
            .finish()
    }
}

/// What [`Parser::parse`] found at the start of the input.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A complete request, which used the first `consumed` bytes.
    Request {
        /// Its arguments; the first is the command name.
        args: Args<'a>,
        /// Input bytes it used.
        consumed: usize,
    },
    /// Input that holds no request (an empty inline line, `*0`): drop it.
    Skip(usize),
    /// The request is not complete: read at least `need` more bytes.
    Incomplete {
        /// A lower bound on the missing bytes.
        need: usize,
    },
    /// A malformed line, which the connection can survive: reply with the
    /// error, drop `skip` bytes, and go on.
    Invalid {
        /// What was wrong.
        error: ProtocolError,
        /// Bytes to drop.
        skip: usize,
    },
    /// Malformed or oversized input after which the connection cannot
    /// continue: reply with the error and close.
    Fatal(ProtocolError),
}

/// An incremental RESP2 request parser. See the module docs.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    /// Arguments announced by the `*` header of the frame in progress;
    /// zero when no frame is in progress.
    argc: usize,
    /// Where the next bulk header starts, from the frame's start.
    pos: usize,
    /// The arguments found so far: byte ranges of the input (multibulk) or
    /// of `inline` (inline).
    spans: Vec<(usize, usize)>,
    /// The unquoted words of an inline command.
    inline: Vec<u8>,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            argc: 0,
            pos: 0,
            spans: Vec::new(),
            inline: Vec::new(),
        }
    }

    /// Parses the request at the start of `input`, the connection's unread
    /// bytes. After [`Parsed::Incomplete`], call again with the same bytes
    /// plus more; after anything else, drop the bytes it says were used.
    pub fn parse<'a>(&'a mut self, input: &'a [u8]) -> Parsed<'a> {
        if self.argc == 0 {
            match input.first() {
                None => return Parsed::Incomplete { need: 1 },
                Some(b'*') => {}
                Some(_) => return self.parse_inline(input),
            }
            let (n, header_len) = match header(input) {
                Header::Incomplete => return Parsed::Incomplete { need: 1 },
                Header::TooLong => return Parsed::Fatal(ProtocolError::HeaderTooLong),
                Header::Invalid(skip) => {
                    return Parsed::Invalid {
                        error: ProtocolError::InvalidMultibulkLength,
                        skip,
                    };
                }
                Header::Number(n, len) => (n, len),
            };
            if n <= 0 {
                return Parsed::Skip(header_len);
            }
            if n as u64 > self.limits.max_args as u64 {
                return Parsed::Fatal(ProtocolError::TooManyArguments {
                    count: n,
                    limit: self.limits.max_args,
                });
            }
            self.argc = n as usize;
            self.pos = header_len;
            self.spans.clear();
            self.spans.reserve(self.argc.min(MAX_PREALLOC_ARGS));
        }
        while self.spans.len() < self.argc {
            let Some(rest) = input.get(self.pos..).filter(|r| !r.is_empty()) else {
                return Parsed::Incomplete { need: 1 };
            };
            if rest[0] != b'$' {
                return self.fatal(ProtocolError::ExpectedBulk(rest[0]));
            }
            let (len, header_len) = match header(rest) {
                Header::Incomplete => return Parsed::Incomplete { need: 1 },
                Header::TooLong => return self.fatal(ProtocolError::HeaderTooLong),
                Header::Invalid(_) => return self.fatal(ProtocolError::InvalidBulkLength),
                Header::Number(len, _) if len < 0 => {
                    return self.fatal(ProtocolError::InvalidBulkLength);
                }
                Header::Number(len, header_len) => (len as u64, header_len),
            };
            if len > self.limits.max_bulk_len as u64 {
                return self.fatal(ProtocolError::BulkTooLong {
                    len: len as usize,
                    limit: self.limits.max_bulk_len,
                });
            }
            let len = len as usize;
            let whole = header_len + len + 2;
            if self.pos + whole > self.limits.max_request_len {
                return self.fatal(ProtocolError::RequestTooLong {
                    limit: self.limits.max_request_len,
                });
            }
            if rest.len() < whole {
                return Parsed::Incomplete {
                    need: whole - rest.len(),
                };
            }
            if &rest[header_len + len..whole] != b"\r\n" {
                return self.fatal(ProtocolError::MissingCrlf);
            }
            let start = self.pos + header_len;
            self.spans.push((start, start + len));
            self.pos += whole;
        }
        let consumed = self.pos;
        self.argc = 0;
        self.pos = 0;
        Parsed::Request {
            args: Args {
                data: input,
                spans: &self.spans,
            },
            consumed,
        }
    }

    fn fatal(&mut self, error: ProtocolError) -> Parsed<'static> {
        self.argc = 0;
        self.pos = 0;
        Parsed::Fatal(error)
    }

    fn parse_inline<'a>(&'a mut self, input: &'a [u8]) -> Parsed<'a> {
        let max = self.limits.max_inline_len;
        let Some(newline) = input.iter().take(max + 1).position(|&b| b == b'\n') else {
            return if input.len() > max {
                Parsed::Fatal(ProtocolError::InlineTooLong { limit: max })
            } else {
                Parsed::Incomplete { need: 1 }
            };
        };
        let line = &input[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.spans.clear();
        self.inline.clear();
        if split_inline(line, &mut self.inline, &mut self.spans).is_err() {
            return Parsed::Invalid {
                error: ProtocolError::UnbalancedQuotes,
                skip: newline + 1,
            };
        }
        if self.spans.is_empty() {
            return Parsed::Skip(newline + 1);
        }
        Parsed::Request {
            args: Args {
                data: &self.inline,
                spans: &self.spans,
            },
            consumed: newline + 1,
        }
    }
}

enum Header {
    /// The number and the header's length, CRLF included.
    Number(i64, usize),
    /// The line ends (after `skip` bytes) but is not a number.
    Invalid(usize),
    /// No line end yet.
    Incomplete,
    /// No line end within [`MAX_HEADER_LEN`] bytes.
    TooLong,
}

/// Parses a `*<n>\r\n` or `$<n>\r\n` header at the start of `input`.
fn header(input: &[u8]) -> Header {
    let window = &input[..input.len().min(MAX_HEADER_LEN)];
    let Some(newline) = window.iter().position(|&b| b == b'\n') else {
        return if input.len() >= MAX_HEADER_LEN {
            Header::TooLong
        } else {
            Header::Incomplete
        };
    };
    match input[1..newline]
        .strip_suffix(b"\r")
        .and_then(parse_i64_strict)
    {
        Some(n) => Header::Number(n, newline + 1),
        None => Header::Invalid(newline + 1),
    }
}

/// Parses a decimal `i64` the way Redis does (`string2ll`): optional `-`,
/// no `+`, no leading zeros, no spaces, no `-0`.
pub fn parse_i64_strict(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 19 digits: fits in u64 without overflow.
    let magnitude = digits
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Splits an inline command line into words, Redis's `sdssplitargs`:
/// words are separated by whitespace; `"..."` may hold `\n \r \t \b \a \\
/// \" \xHH` escapes; `'...'` only `\'`; a closing quote must be followed by
/// whitespace or the end of the line. The unquoted words go to `out`, their
/// ranges to `spans`.
pub fn split_inline(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> Result<(), ()> {
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let (mut double, mut single) = (false, false);
        loop {
            let Some(&c) = line.get(i) else {
                if double || single {
                    return Err(()); // unterminated quote
                }
                break;
            };
            if double {
                match (c, line.get(i + 1).copied()) {
                    (b'\\', Some(b'x'))
                        if line.len() > i + 3
                            && line[i + 2].is_ascii_hexdigit()
                            && line[i + 3].is_ascii_hexdigit() =>
                    {
                        out.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                        i += 3;
                    }
                    (b'\\', Some(escaped)) => {
                        out.push(match escaped {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 1;
                    }
                    (b'"', next) => {
                        if next.is_some_and(|n| !n.is_ascii_whitespace()) {
                            return Err(());
                        }
                        i += 1;
                        break;
                    }
                    (c, _) => out.push(c),
                }
            } else if single {
                match (c, line.get(i + 1).copied()) {
                    (b'\\', Some(b'\'')) => {
                        out.push(b'\'');
                        i += 1;
                    }
                    (b'\'', next) => {
                        if next.is_some_and(|n| !n.is_ascii_whitespace()) {
                            return Err(());
                        }
                        i += 1;
                        break;
                    }
                    (c, _) => out.push(c),
                }
            } else {
                match c {
                    c if c.is_ascii_whitespace() || c == 0 => break,
                    b'"' => double = true,
                    b'\'' => single = true,
                    c => out.push(c),
                }
            }
            i += 1;
        }
        spans.push((start, out.len()));
    }
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Reply encoders: each appends one RESP2 value to `out`.
pub mod reply {
    /// `+text`: a status such as `OK` or `PONG`.
    pub fn simple(out: &mut Vec<u8>, text: &str) {
        out.push(b'+');
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// `-message`: an error. `message` starts with its code (`ERR`,
    /// `WRONGTYPE`, ...); CR and LF in it are replaced by spaces.
    pub fn error(out: &mut Vec<u8>, message: &str) {
        out.push(b'-');
        out.extend(
            message
                .bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
    }

    /// `:n`.
    pub fn integer(out: &mut Vec<u8>, n: i64) {
        out.push(b':');
        decimal(out, n);
        out.extend_from_slice(b"\r\n");
    }

    /// `$len\r\nbytes`.
    pub fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
        out.push(b'$');
        decimal(out, bytes.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }

    /// `$-1`: the null bulk string (a missing value).
    pub fn nil(out: &mut Vec<u8>) {
        out.extend_from_slice(b"$-1\r\n");
    }

    /// `*-1`: the null array.
    pub fn nil_array(out: &mut Vec<u8>) {
        out.extend_from_slice(b"*-1\r\n");
    }

    /// `*len`: the header of an array; `len` values follow.
    pub fn array(out: &mut Vec<u8>, len: usize) {
        out.push(b'*');
        decimal(out, len as i64);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends `n` in decimal, without going through `fmt`.
    pub fn decimal(out: &mut Vec<u8>, n: i64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            out.push(b'-');
        }
        out.extend_from_slice(&digits[at..]);
    }
}

/// A connection's input: bytes read but not yet parsed, in one growable
/// buffer that is compacted instead of shifted on every request.
#[derive(Debug)]
pub struct ReadBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Default for ReadBuffer {
    fn default() -> Self {
        ReadBuffer::new()
    }
}

impl ReadBuffer {
    /// The smallest read, and the size of a fresh buffer.
    pub const CHUNK: usize = 16 * 1024;
    /// The most a single read asks room for, however much the parser
    /// says is missing: memory follows the bytes that really arrive, not
    /// what a header claims.
    pub const MAX_READ_AHEAD: usize = 1024 * 1024;
    /// An empty buffer larger than this is given back to the allocator.
    pub const SHRINK_ABOVE: usize = 256 * 1024;

    /// An empty buffer.
    pub fn new() -> ReadBuffer {
        ReadBuffer {
            buf: vec![0; Self::CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not consumed yet.
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops the first `n` unread bytes.
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.end - self.start, "consumed more than was read");
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room for the next read, at least [`CHUNK`](Self::CHUNK) bytes and up
    /// to `need` (capped at [`MAX_READ_AHEAD`](Self::MAX_READ_AHEAD)).
    /// Report what was read with [`filled`](Self::filled).
    pub fn spare(&mut self, need: usize) -> &mut [u8] {
        if self.start == self.end && self.buf.len() > Self::SHRINK_ABOVE {
            *self = ReadBuffer::new();
        }
        let want = need.clamp(Self::CHUNK, Self::MAX_READ_AHEAD);
        if self.buf.len() - self.end < want {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < want {
                // `resize` grows the capacity geometrically, so a large
                // request arriving in many reads is copied O(log n) times.
                self.buf.resize(self.end + want, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Marks `n` bytes of the last [`spare`](Self::spare) as read.
    pub fn filled(&mut self, n: usize) {
        assert!(self.end + n <= self.buf.len(), "filled more than was spare");
        self.end += n;
    }

    /// Bytes held, read or not (for tests of the bounds).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: Args<'_>) -> Vec<String> {
        args.iter_from(0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// Parses every request in `input`; panics on anything but requests.
    fn all(input: &[u8]) -> Vec<Vec<String>> {
        let mut parser = Parser::new(Limits::default());
        let mut at = 0;
        let mut out = Vec::new();
        while at < input.len() {
            match parser.parse(&input[at..]) {
                Parsed::Request { args, consumed } => {
                    out.push(words(args));
                    at += consumed;
                }
                Parsed::Skip(n) => at += n,
                other => panic!("unexpected {other:?} at {at}"),
            }
        }
        out
    }

    fn first(limits: Limits, input: &[u8]) -> Parsed<'static> {
        let parser = Box::leak(Box::new(Parser::new(limits)));
        let input: &'static [u8] = Box::leak(input.to_vec().into_boxed_slice());
        parser.parse(input)
    }

    #[test]
    fn multibulk_requests() {
        assert_eq!(
            all(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
            [vec!["PING"], vec!["SET", "k", ""]]
        );
        // Binary-safe: CR, LF and NUL inside a bulk string.
        assert_eq!(
            all(b"*2\r\n$4\r\nECHO\r\n$5\r\na\r\n\0b\r\n"),
            [vec!["ECHO", "a\r\n\0b"]]
        );
        // `*0` and `*-1` carry no request.
        assert_eq!(all(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"), [vec!["PING"]]);
    }

    #[test]
    fn inline_requests() {
        assert_eq!(
            all(b"PING\r\nset  k   v\nGET k\r\n\r\n\n"),
            [vec!["PING"], vec!["set", "k", "v"], vec!["GET", "k"]]
        );
        assert_eq!(all(b"SET \"a b\" 'c d'\r\n"), [vec!["SET", "a b", "c d"]]);
        assert_eq!(
            all(b"ECHO \"\\x41\\n\\\"q\\\"\" 'it\\'s'\r\n"),
            [vec!["ECHO", "A\n\"q\"", "it's"]]
        );
        // A quote in the middle of a word opens a quoted part, as in Redis.
        assert_eq!(all(b"ECHO a\"b c\"\r\n"), [vec!["ECHO", "ab c"]]);
    }

    #[test]
    fn every_split_point_of_a_pipeline_parses_the_same() {
        let input: &[u8] = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let expected = all(input);
        assert_eq!(expected.len(), 3);
        // Feed the input as the network might: the first `cut` bytes, then
        // the rest, with the parser keeping its place in between.
        for cut in 0..=input.len() {
            let mut parser = Parser::new(Limits::default());
            let mut buffer = Vec::new();
            let mut got = Vec::new();
            for piece in [&input[..cut], &input[cut..]] {
                buffer.extend_from_slice(piece);
                loop {
                    match parser.parse(&buffer) {
                        Parsed::Request { args, consumed } => {
                            got.push(words(args));
                            buffer.drain(..consumed);
                        }
                        Parsed::Incomplete { need } => {
                            assert!(need >= 1);
                            break;
                        }
                        other => panic!("cut {cut}: unexpected {other:?}"),
                    }
                }
            }
            assert_eq!(got, expected, "cut at {cut}");
            assert!(buffer.is_empty());
        }
    }

    #[test]
    fn a_partial_bulk_says_how_much_is_missing() {
        let limits = Limits::default();
        match first(limits, b"*2\r\n$4\r\nECHO\r\n$10\r\nabc") {
            Parsed::Incomplete { need } => assert_eq!(need, 7 + 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recoverable_errors_skip_one_line() {
        match first(Limits::default(), b"*x\r\nPING\r\n") {
            Parsed::Invalid { error, skip } => {
                assert_eq!(error, ProtocolError::InvalidMultibulkLength);
                assert_eq!(skip, 4);
            }
            other => panic!("{other:?}"),
        }
        match first(Limits::default(), b"SET \"a b\r\nPING\r\n") {
            Parsed::Invalid { error, skip } => {
                assert_eq!(error, ProtocolError::UnbalancedQuotes);
                assert_eq!(skip, 10);
                assert_eq!(
                    error.to_string(),
                    "Protocol error: unbalanced quotes in request"
                );
            }
            other => panic!("{other:?}"),
        }
        for bad in [&b"ECHO \"a\"b\r\n"[..], b"ECHO 'a'b\r\n", b"ECHO 'abc\r\n"] {
            assert!(
                matches!(first(Limits::default(), bad), Parsed::Invalid { .. }),
                "{}",
                bad.escape_ascii()
            );
        }
    }

    #[test]
    fn errors_inside_a_frame_are_fatal() {
        let cases: [(&[u8], ProtocolError); 6] = [
            (b"*1\r\n:4\r\n", ProtocolError::ExpectedBulk(b':')),
            (b"*1\r\n$x\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$+4\r\nPING\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$4\r\nPINGxx", ProtocolError::MissingCrlf),
            (
                b"*1\r\n$0000000000000000000000000000000000004\r\n",
                ProtocolError::HeaderTooLong,
            ),
        ];
        for (input, expected) in cases {
            match first(Limits::default(), input) {
                Parsed::Fatal(error) => assert_eq!(error, expected, "{}", input.escape_ascii()),
                other => panic!("{}: {other:?}", input.escape_ascii()),
            }
        }
    }

    #[test]
    fn limits_are_checked_before_the_data_arrives() {
        let limits = Limits {
            max_bulk_len: 100,
            max_args: 3,
            max_inline_len: 16,
            max_request_len: 150,
        };
        assert!(matches!(
            first(limits, b"*2\r\n$4\r\nECHO\r\n$101\r\n"),
            Parsed::Fatal(ProtocolError::BulkTooLong {
                len: 101,
                limit: 100
            })
        ));
        assert!(matches!(
            first(limits, b"*4\r\n"),
            Parsed::Fatal(ProtocolError::TooManyArguments { count: 4, limit: 3 })
        ));
        assert!(matches!(
            first(limits, b"*2\r\n$4\r\nECHO\r\n$99999999999999999999999\r\n"),
            Parsed::Fatal(ProtocolError::InvalidBulkLength)
        ));
        // Two bulks that each fit but together exceed the request limit.
        assert!(matches!(
            first(
                limits,
                &[
                    &b"*3\r\n$3\r\nSET\r\n$80\r\n"[..],
                    &[b'k'; 80],
                    b"\r\n$80\r\n"
                ]
                .concat()
            ),
            Parsed::Fatal(ProtocolError::RequestTooLong { limit: 150 })
        ));
        // An inline line without a newline: rejected once it is too long.
        assert!(matches!(
            first(limits, b"ECHO aaaaaaaaaaa"),
            Parsed::Incomplete { .. }
        ));
        assert!(matches!(
            first(limits, b"ECHO aaaaaaaaaaaa"),
            Parsed::Fatal(ProtocolError::InlineTooLong { limit: 16 })
        ));
        // Also when the newline is there, so the result does not depend on
        // how the input was split into reads.
        assert!(matches!(
            first(limits, b"ECHO aaaaaaaaaaaaaaaaaaaa\r\n"),
            Parsed::Fatal(ProtocolError::InlineTooLong { .. })
        ));
        assert!(matches!(
            first(limits, b"*99999999999999999999999999999999999"),
            Parsed::Fatal(ProtocolError::HeaderTooLong)
        ));
    }

    #[test]
    fn strict_integers() {
        for (text, value) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("42", Some(42)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("+1", None),
            ("01", None),
            ("", None),
            ("-", None),
            (" 1", None),
            ("1 ", None),
            ("1.5", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_i64_strict(text.as_bytes()), value, "{text:?}");
        }
    }

    #[test]
    fn replies() {
        let mut out = Vec::new();
        reply::simple(&mut out, "OK");
        reply::error(&mut out, "ERR bad\r\nthing");
        reply::integer(&mut out, -12);
        reply::integer(&mut out, i64::MIN);
        reply::bulk(&mut out, b"a\r\nb");
        reply::nil(&mut out);
        reply::array(&mut out, 2);
        reply::nil_array(&mut out);
        assert_eq!(
            out.escape_ascii().to_string(),
            b"+OK\r\n-ERR bad  thing\r\n:-12\r\n:-9223372036854775808\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n*-1\r\n"
                .escape_ascii()
                .to_string()
        );
    }

    #[test]
    fn read_buffer_compacts_grows_and_shrinks() {
        let mut buffer = ReadBuffer::new();
        let room = buffer.spare(0);
        assert!(room.len() >= ReadBuffer::CHUNK);
        room[..4].copy_from_slice(b"abcd");
        buffer.filled(4);
        buffer.consume(1);
        assert_eq!(buffer.unread(), b"bcd");
        // A large announced request grows the buffer only by the read-ahead.
        let room = buffer.spare(usize::MAX);
        assert_eq!(room.len(), ReadBuffer::MAX_READ_AHEAD);
        assert_eq!(buffer.unread(), b"bcd", "compacted, bytes kept");
        buffer.filled(ReadBuffer::MAX_READ_AHEAD);
        let n = buffer.unread().len();
        buffer.consume(n);
        // Empty and large: back to a small buffer.
        buffer.spare(0);
        assert_eq!(buffer.capacity(), ReadBuffer::CHUNK);
    }
}
