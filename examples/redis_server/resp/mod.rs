//! RESP2, the Redis wire protocol: an incremental request parser with
//! limits, reply encoders, and the per-connection read buffer.
//!
//! Nothing here does I/O or knows about coroutines, so the same code serves
//! the coshare server and the tokio comparison server
//! (`benches/redis_tokio.rs`), and it is unit-tested (and fuzzed, see
//! `fuzz/`) on plain byte strings.
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
//! that arrived only in part, and inside a line it has already searched for
//! its end, so a large request that trickles in is not parsed again from the
//! start on every read.
//!
//! The rules are those of redis-server 7 (`processMultibulkBuffer`,
//! `processInlineBuffer` and `sdssplitargs`), down to its leniencies: a
//! header line ends at its `\r`, and the byte after that `\r` and the two
//! bytes after a bulk string's payload are skipped unread, as Redis skips
//! them.
//!
//! # Errors and limits
//!
//! Every malformed request is fatal, as in Redis: the connection gets
//! `-ERR Protocol error: ...` with Redis's text ([`ProtocolError`]), the
//! requests before it have run and been answered, nothing after it runs,
//! and the connection is closed. Nothing is ever guessed: in particular,
//! the bytes of a frame whose `*` or `$` header is bad are never read as
//! inline commands.
//!
//! Every byte the parser asks the connection to buffer is bounded:
//!
//! | limit | default (as Redis) | checked |
//! |---|---|---|
//! | [`Limits::max_bulk_len`] | 512 MiB | at the `$` header, before the payload arrives |
//! | [`Limits::max_args`] | 2^31 - 1 | at the `*` header |
//! | [`Limits::max_inline_len`] | 64 KiB | for an inline line and for a `*`/`$` header line, as soon as that many bytes hold no line end |
//! | [`Limits::max_request_len`] | 1 GiB | at each `$` header, for the whole frame |
//!
//! So a connection never holds more than one request of at most
//! `max_request_len` bytes plus one read, and the parser's own memory is
//! one span per argument (each argument takes at least 6 input bytes) plus
//! at most one inline line.
//!
//! Two deliberate differences from redis-server, both about input Redis
//! would sit on rather than answer:
//!
//! * Redis looks for line ends with `strchr`, which stops at a NUL byte, so
//!   a NUL before the end of an inline line or of a header line makes it
//!   wait for more input until 64 KiB have piled up, then fail with
//!   `too big inline request` (or `too big mbulk count string`, `too big
//!   bulk count string`). This parser fails with that same error as soon as
//!   it sees the NUL.
//! * Redis finds a line end only in what it has read so far, so whether an
//!   over-long line is "too big" depends on how the bytes were split into
//!   reads. Here a line longer than [`Limits::max_inline_len`] is always too
//!   big, however it arrived. When a request exceeds
//!   [`Limits::max_request_len`], Redis closes without a reply; this server
//!   replies with an error first.

mod buffer;
mod inline;
mod parser;
pub mod reply;
#[cfg(test)]
mod tests;

pub use buffer::ReadBuffer;
pub use inline::split_inline;
pub use parser::{Args, OwnedArgs, OwnedBatch, Parsed, Parser};

/// The bounds on one request. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string (one argument), in bytes.
    pub max_bulk_len: usize,
    /// The most arguments in one multibulk request.
    pub max_args: usize,
    /// The longest inline command line, and the longest `*` or `$` header
    /// line, in bytes.
    pub max_inline_len: usize,
    /// The longest multibulk request, headers included, in bytes.
    pub max_request_len: usize,
}

impl Default for Limits {
    /// Redis's defaults: `proto-max-bulk-len` 512 MiB, at most `INT_MAX`
    /// arguments, 64 KiB inline commands and header lines
    /// (`PROTO_INLINE_MAX_SIZE`), and `client-query-buffer-limit` 1 GiB.
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_args: i32::MAX as usize,
            max_inline_len: 64 * 1024,
            max_request_len: 1024 * 1024 * 1024,
        }
    }
}

/// Malformed or oversized input. [`message`](Self::message) is the text
/// after `-ERR `, Redis's own for every case Redis has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `*` header that is not a decimal integer, or larger than
    /// [`Limits::max_args`].
    InvalidMultibulkLength,
    /// A `$` header that is not a non-negative decimal integer, or larger
    /// than [`Limits::max_bulk_len`].
    InvalidBulkLength,
    /// Something other than `$` where a bulk string should start.
    ExpectedBulk(u8),
    /// A `*` header line with no end within [`Limits::max_inline_len`]
    /// bytes (or with a NUL byte).
    MultibulkCountTooBig,
    /// A `$` header line with no end within [`Limits::max_inline_len`]
    /// bytes (or with a NUL byte).
    BulkCountTooBig,
    /// An inline line longer than [`Limits::max_inline_len`] (or with a
    /// NUL byte).
    InlineTooBig,
    /// An inline command with an unterminated quote, or a closing quote
    /// not followed by a space.
    UnbalancedQuotes,
    /// A multibulk request longer than [`Limits::max_request_len`] (Redis
    /// closes such a connection without a reply).
    RequestTooLong {
        /// The limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The error text, without the `ERR ` code. Bytes, not a `str`: Redis
    /// puts the offending byte itself into `expected '$', got 'x'`.
    pub fn message(&self) -> Vec<u8> {
        let text = match self {
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::ExpectedBulk(got) => {
                let mut message = b"Protocol error: expected '$', got '".to_vec();
                message.push(*got);
                message.push(b'\'');
                return message;
            }
            ProtocolError::MultibulkCountTooBig => "too big mbulk count string",
            ProtocolError::BulkCountTooBig => "too big bulk count string",
            ProtocolError::InlineTooBig => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::RequestTooLong { limit } => {
                return format!(
                    "Protocol error: request exceeds the limit of {limit} bytes \
                     (client-query-buffer-limit)"
                )
                .into_bytes();
            }
        };
        format!("Protocol error: {text}").into_bytes()
    }

    /// Appends the whole error reply, `-ERR Protocol error: ...\r\n`.
    pub fn reply(&self, out: &mut Vec<u8>) {
        let mut message = b"ERR ".to_vec();
        message.extend_from_slice(&self.message());
        reply::error(out, &message);
    }
}

/// Parses a decimal `i64` the way Redis does (`string2ll`): optional `-`,
/// no `+`, no leading zeros, no spaces, no `-0`, at most 20 bytes.
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
