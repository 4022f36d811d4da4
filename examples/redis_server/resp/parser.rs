//! The incremental request parser. See the module docs of `resp` for the
//! rules and the limits.
//!
//! The parser is a small state machine over the connection's unread bytes:
//!
//! ```text
//!   no frame (argc == 0) --'*' header--> in a frame (argc > 0, pos)
//!        |                                   |  one `$` bulk at a time
//!        +-- anything else: inline line      +-- all argc read: Request
//! ```
//!
//! Between calls it keeps only `argc`, `pos` (where the next bulk header
//! starts) and `scanned` (how much of the current line was already searched
//! for its end); the arguments found so far are re-read from the input
//! through their spans, so nothing is copied.

use std::fmt;

use super::{Limits, ProtocolError, parse_i64_strict, split_inline};

/// Arguments preallocated for a multibulk request, whatever its header
/// claims (a header alone must not allocate much).
const MAX_PREALLOC_ARGS: usize = 1024;

/// The arguments of one request, borrowed from the input (multibulk) or
/// from the parser (inline).
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

    /// An owned copy, for a request that must outlive the input (a command
    /// queued by `MULTI`).
    pub fn to_owned(self) -> OwnedArgs {
        let mut owned = OwnedArgs {
            data: Vec::with_capacity(self.spans.iter().map(|(s, e)| e - s).sum()),
            spans: Vec::with_capacity(self.len()),
        };
        for arg in self.iter_from(0) {
            let start = owned.data.len();
            owned.data.extend_from_slice(arg);
            owned.spans.push((start, owned.data.len()));
        }
        owned
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter_from(0).map(|a| a.escape_ascii().to_string()))
            .finish()
    }
}

/// The arguments of a request, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedArgs {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl OwnedArgs {
    /// Owned arguments from byte strings (for tests and tools).
    pub fn from_slices<A: AsRef<[u8]>>(args: &[A]) -> OwnedArgs {
        let spans: Vec<(usize, usize)> = args
            .iter()
            .scan(0, |at, arg| {
                let start = *at;
                *at += arg.as_ref().len();
                Some((start, *at))
            })
            .collect();
        let data = args
            .iter()
            .flat_map(|a| a.as_ref().iter().copied())
            .collect();
        OwnedArgs { data, spans }
    }

    /// Borrowed arguments.
    pub fn args(&self) -> Args<'_> {
        Args {
            data: &self.data,
            spans: &self.spans,
        }
    }

    /// Bytes held.
    pub fn heap_size(&self) -> usize {
        self.data.capacity() + self.spans.capacity() * std::mem::size_of::<(usize, usize)>()
    }
}

/// The arguments of many requests, owned, in one buffer: a batch of
/// requests for another shard costs a few allocations, not a few per
/// request.
#[derive(Clone, Debug, Default)]
pub struct OwnedBatch {
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Each request's range of `spans`.
    requests: Vec<(usize, usize)>,
}

impl OwnedBatch {
    /// Adds a copy of `args`.
    pub fn push(&mut self, args: Args<'_>) {
        let first = self.spans.len();
        for arg in args.iter_from(0) {
            let start = self.data.len();
            self.data.extend_from_slice(arg);
            self.spans.push((start, self.data.len()));
        }
        self.requests.push((first, self.spans.len()));
    }

    /// How many requests.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Removes every request, keeping at most about `kept_bytes` of the
    /// buffers for the next ones.
    pub fn clear(&mut self, kept_bytes: usize) {
        self.data.clear();
        self.data.shrink_to(kept_bytes);
        self.spans.clear();
        self.spans.shrink_to(kept_bytes / 16);
        self.requests.clear();
        self.requests.shrink_to(kept_bytes / 16);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The requests, in the order they were pushed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Args<'_>> + '_ {
        self.requests.iter().map(|&(first, end)| Args {
            data: &self.data,
            spans: &self.spans[first..end],
        })
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
    /// Input that holds no request (an empty inline line, `*0`, `*-1`):
    /// drop that many bytes.
    Skip(usize),
    /// The request is not complete: read at least `need` more bytes.
    Incomplete {
        /// A lower bound on the missing bytes.
        need: usize,
    },
    /// Malformed or oversized input: reply with the error and close the
    /// connection (nothing after it may run).
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
    /// Bytes of the line being looked at (an inline line, or a header
    /// line, from its start) already searched for its end.
    scanned: usize,
    /// The arguments found so far: byte ranges of the input (multibulk) or
    /// of `inline` (inline).
    spans: Vec<(usize, usize)>,
    /// The unquoted words of an inline command.
    inline: Vec<u8>,
}

/// Where a line ends.
enum LineEnd {
    /// The terminator is at this offset.
    At(usize),
    /// A NUL byte comes first (Redis's `strchr` would stop there).
    Nul,
    /// Neither in the bytes so far.
    NotYet,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            argc: 0,
            pos: 0,
            scanned: 0,
            spans: Vec::new(),
            inline: Vec::new(),
        }
    }

    /// The parser's own heap memory, in bytes (for tests of the bounds).
    #[allow(dead_code)] // used by the tests and the fuzz targets
    pub fn heap_size(&self) -> usize {
        self.spans.capacity() * std::mem::size_of::<(usize, usize)>() + self.inline.capacity()
    }

    /// Parses the request at the start of `input`, the connection's unread
    /// bytes. After [`Parsed::Incomplete`], call again with the same bytes
    /// plus more; after anything else, drop the bytes it says were used
    /// (after [`Parsed::Fatal`], stop).
    pub fn parse<'a>(&'a mut self, input: &'a [u8]) -> Parsed<'a> {
        if self.argc == 0 {
            match input.first() {
                None => return Parsed::Incomplete { need: 1 },
                Some(b'*') => {}
                Some(_) => return self.parse_inline(input),
            }
            let header_len = match self.find_line_end(input, b'\r') {
                LineEnd::At(cr) if cr > self.limits.max_inline_len => {
                    return self.fatal(ProtocolError::MultibulkCountTooBig);
                }
                // The byte after the `\r` must be there too (it is skipped).
                LineEnd::At(cr) if cr + 2 > input.len() => {
                    return Parsed::Incomplete { need: 1 };
                }
                LineEnd::At(cr) => cr + 2,
                LineEnd::Nul => return self.fatal(ProtocolError::MultibulkCountTooBig),
                LineEnd::NotYet if input.len() > self.limits.max_inline_len => {
                    return self.fatal(ProtocolError::MultibulkCountTooBig);
                }
                LineEnd::NotYet => return Parsed::Incomplete { need: 1 },
            };
            self.scanned = 0;
            let count = match parse_i64_strict(&input[1..header_len - 2]) {
                Some(n) if n <= 0 => return Parsed::Skip(header_len),
                Some(n) if n as u64 <= self.limits.max_args.min(i32::MAX as usize) as u64 => {
                    n as usize
                }
                _ => return self.fatal(ProtocolError::InvalidMultibulkLength),
            };
            self.argc = count;
            self.pos = header_len;
            self.spans.clear();
            self.spans.reserve(count.min(MAX_PREALLOC_ARGS));
        }
        while self.spans.len() < self.argc {
            let rest = &input[self.pos.min(input.len())..];
            let header_len = match self.find_line_end(rest, b'\r') {
                LineEnd::At(cr) if cr > self.limits.max_inline_len => {
                    return self.fatal(ProtocolError::BulkCountTooBig);
                }
                LineEnd::At(cr) if cr + 2 > rest.len() => return Parsed::Incomplete { need: 1 },
                LineEnd::At(cr) => cr + 2,
                LineEnd::Nul => return self.fatal(ProtocolError::BulkCountTooBig),
                LineEnd::NotYet if rest.len() > self.limits.max_inline_len => {
                    return self.fatal(ProtocolError::BulkCountTooBig);
                }
                LineEnd::NotYet => return Parsed::Incomplete { need: 1 },
            };
            // Redis checks the `$` only once the whole line is there.
            if rest[0] != b'$' {
                return self.fatal(ProtocolError::ExpectedBulk(rest[0]));
            }
            let len = match parse_i64_strict(&rest[1..header_len - 2]) {
                Some(len) if len >= 0 && len as u64 <= self.limits.max_bulk_len as u64 => {
                    len as usize
                }
                _ => return self.fatal(ProtocolError::InvalidBulkLength),
            };
            // The payload and the two bytes after it (CRLF, unchecked).
            let whole = header_len + len + 2;
            if self.pos + whole > self.limits.max_request_len {
                return self.fatal(ProtocolError::RequestTooLong {
                    limit: self.limits.max_request_len,
                });
            }
            if rest.len() < whole {
                // The header is parsed again on the next call (it is
                // short); `scanned` must not point past it.
                self.scanned = 0;
                return Parsed::Incomplete {
                    need: whole - rest.len(),
                };
            }
            self.scanned = 0;
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

    /// Finds the first `terminator` (or NUL) in `line`, resuming where the
    /// last search of this line stopped.
    fn find_line_end(&mut self, line: &[u8], terminator: u8) -> LineEnd {
        let from = self.scanned.min(line.len());
        match line[from..].iter().position(|&b| b == terminator || b == 0) {
            Some(i) if line[from + i] == 0 => LineEnd::Nul,
            Some(i) => LineEnd::At(from + i),
            None => {
                self.scanned = line.len();
                LineEnd::NotYet
            }
        }
    }

    fn fatal(&mut self, error: ProtocolError) -> Parsed<'static> {
        self.argc = 0;
        self.pos = 0;
        self.scanned = 0;
        self.spans = Vec::new();
        Parsed::Fatal(error)
    }

    fn parse_inline<'a>(&'a mut self, input: &'a [u8]) -> Parsed<'a> {
        let max = self.limits.max_inline_len;
        let newline = match self.find_line_end(input, b'\n') {
            LineEnd::At(newline) if newline <= max => newline,
            LineEnd::At(_) | LineEnd::Nul => return self.fatal(ProtocolError::InlineTooBig),
            LineEnd::NotYet if input.len() > max => {
                return self.fatal(ProtocolError::InlineTooBig);
            }
            LineEnd::NotYet => return Parsed::Incomplete { need: 1 },
        };
        self.scanned = 0;
        let line = &input[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.spans.clear();
        self.inline.clear();
        if split_inline(line, &mut self.inline, &mut self.spans).is_err() {
            return self.fatal(ProtocolError::UnbalancedQuotes);
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
