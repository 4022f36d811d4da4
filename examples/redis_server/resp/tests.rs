//! Unit tests of the parser, the encoders and the read buffer, and property
//! tests: frames survive encode → parse however the input is split, and
//! arbitrary bytes never loop, never grow the parser past its bounds, and
//! never run anything after a malformed frame.

use proptest::prelude::*;

use super::*;

fn words(args: Args<'_>) -> Vec<Vec<u8>> {
    args.iter_from(0).map(<[u8]>::to_vec).collect()
}

fn strings(requests: Vec<Vec<Vec<u8>>>) -> Vec<Vec<String>> {
    requests
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
        .collect()
}

/// What a connection does with `pieces` arriving one after the other: the
/// requests it would run, and the error it would stop at.
fn feed(limits: Limits, pieces: &[&[u8]]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    let mut parser = Parser::new(limits);
    let mut buffer = Vec::new();
    let mut requests = Vec::new();
    let mut calls = 0;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    for piece in pieces {
        buffer.extend_from_slice(piece);
        loop {
            calls += 1;
            // Every call consumes input, or waits for more, or stops: the
            // number of calls is bounded by the input.
            assert!(calls <= total + pieces.len() + 1, "the parser loops");
            match parser.parse(&buffer) {
                Parsed::Request { args, consumed } => {
                    assert!(consumed > 0 && consumed <= buffer.len());
                    requests.push(words(args));
                    buffer.drain(..consumed);
                }
                Parsed::Skip(n) => {
                    assert!(n > 0 && n <= buffer.len());
                    buffer.drain(..n);
                }
                Parsed::Incomplete { need } => {
                    assert!(need >= 1);
                    break;
                }
                Parsed::Fatal(error) => return (requests, Some(error)),
            }
        }
    }
    (requests, None)
}

/// Every request in `input`; panics on an error.
fn all(input: &[u8]) -> Vec<Vec<String>> {
    let (requests, error) = feed(Limits::default(), &[input]);
    assert_eq!(error, None, "{}", input.escape_ascii());
    strings(requests)
}

/// The error `input` stops at, and the requests before it.
fn fails(input: &[u8]) -> (Vec<Vec<String>>, ProtocolError) {
    let (requests, error) = feed(Limits::default(), &[input]);
    let error = error.unwrap_or_else(|| panic!("no error in {}", input.escape_ascii()));
    (strings(requests), error)
}

fn encode(frames: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        reply::request(&mut out, frame);
    }
    out
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
    // Redis's leniencies: the byte after a header's `\r` and the two bytes
    // after a payload are skipped unread.
    assert_eq!(all(b"*1\rX$4\r\nPINGxx"), [vec!["PING"]]);
    assert_eq!(
        all(b"*1\r\n$4\r\nPINGxxPING\r\n"),
        [vec!["PING"], vec!["PING"]]
    );
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
    // Words break at space, tab, CR and LF, not at `\v` or `\f`; but runs
    // of any C whitespace separate words, and may follow a closing quote.
    assert_eq!(
        all(b"ECHO a\x0bb\x0cc\rd\r\n"),
        [vec!["ECHO", "a\x0bb\x0cc", "d"]]
    );
    assert_eq!(all(b"\x0bECHO \"a\"\x0bb\r\n"), [vec!["ECHO", "a", "b"]]);
    assert_eq!(all(b"ECHO \"\\xzz\"\r\n"), [vec!["ECHO", "xzz"]]);
}

/// The endless loop: a NUL outside quotes in an inline line. Redis stops
/// looking for the line end at the NUL (and waits for 64 KiB); the parser
/// answers at once with Redis's error, and runs nothing.
#[test]
fn a_nul_in_an_inline_line_is_an_error_not_a_loop() {
    for input in [
        &b"ECHO a\0b\r\n"[..],
        b"ECHO a\0b\r\nPING\r\n",
        b"\0PING\r\n",
        b"PING\0",
        b"ECHO \"a\0\"\r\n",
    ] {
        assert_eq!(
            fails(input),
            (vec![], ProtocolError::InlineTooBig),
            "{}",
            input.escape_ascii()
        );
    }
    // What ran before the bad line stays run.
    assert_eq!(
        fails(b"PING\r\nECHO a\0b\r\n"),
        (vec![vec!["PING".to_owned()]], ProtocolError::InlineTooBig)
    );
    // The splitter itself treats the line as a C string.
    let (mut out, mut spans) = (Vec::new(), Vec::new());
    split_inline(b"ECHO a\0b c", &mut out, &mut spans).unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(&out[spans[1].0..spans[1].1], b"a");
}

/// Bug 2: after a malformed `*` header, Redis replies and closes; the rest
/// of the frame never runs as inline commands.
#[test]
fn a_malformed_multibulk_header_runs_nothing_after_it() {
    let tail = b"$3\r\nSET\r\n$4\r\nnote\r\n$8\r\nFLUSHALL\r\nFLUSHALL\r\n";
    for header in [
        &b"*03\r\n"[..],
        b"*1 \r\n",
        b"*x\r\n",
        b"*-0\r\n",
        b"*+1\r\n",
        b"* 1\r\n",
        b"*\r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999999\r\n",
    ] {
        let input = [header, &tail[..]].concat();
        assert_eq!(
            fails(&input),
            (vec![], ProtocolError::InvalidMultibulkLength),
            "{}",
            header.escape_ascii()
        );
    }
    // The same for a bulk header: the frame is dropped whole.
    for bulk in [
        &b"$03\r\n"[..],
        b"$3 \r\n",
        b"$x\r\n",
        b"$-1\r\n",
        b"$+3\r\n",
        b"$\r\n",
        b"$536870913\r\n",
    ] {
        let input = [b"*2\r\n$8\r\nFLUSHALL\r\n", bulk, b"abc\r\nFLUSHALL\r\n"].concat();
        assert_eq!(
            fails(&input),
            (vec![], ProtocolError::InvalidBulkLength),
            "{}",
            bulk.escape_ascii()
        );
    }
    assert_eq!(
        fails(b"*1\r\n:4\r\nFLUSHALL\r\n").1,
        ProtocolError::ExpectedBulk(b':')
    );
    assert_eq!(
        fails(b"*1\r\r\n$4\r\nPING\r\n").1,
        ProtocolError::ExpectedBulk(b'\n')
    );
    assert_eq!(
        fails(b"SET \"a b\r\nPING\r\n"),
        (vec![], ProtocolError::UnbalancedQuotes)
    );
    for bad in [&b"ECHO \"a\"b\r\n"[..], b"ECHO 'a'b\r\n", b"ECHO 'abc\r\n"] {
        assert_eq!(fails(bad).1, ProtocolError::UnbalancedQuotes);
    }
}

#[test]
fn error_texts_are_redis_texts() {
    let mut out = Vec::new();
    for error in [
        ProtocolError::InvalidMultibulkLength,
        ProtocolError::InvalidBulkLength,
        ProtocolError::ExpectedBulk(b'\n'),
        ProtocolError::ExpectedBulk(0xff),
        ProtocolError::MultibulkCountTooBig,
        ProtocolError::BulkCountTooBig,
        ProtocolError::InlineTooBig,
        ProtocolError::UnbalancedQuotes,
    ] {
        error.reply(&mut out);
    }
    assert_eq!(
        out.escape_ascii().to_string(),
        b"-ERR Protocol error: invalid multibulk length\r\n\
          -ERR Protocol error: invalid bulk length\r\n\
          -ERR Protocol error: expected '$', got ' '\r\n\
          -ERR Protocol error: expected '$', got '\xff'\r\n\
          -ERR Protocol error: too big mbulk count string\r\n\
          -ERR Protocol error: too big bulk count string\r\n\
          -ERR Protocol error: too big inline request\r\n\
          -ERR Protocol error: unbalanced quotes in request\r\n"
            .escape_ascii()
            .to_string()
    );
}

#[test]
fn every_split_point_of_a_pipeline_parses_the_same() {
    let input: &[u8] =
        b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let expected = all(input);
    assert_eq!(expected.len(), 3);
    for cut in 0..=input.len() {
        let (got, error) = feed(Limits::default(), &[&input[..cut], &input[cut..]]);
        assert_eq!(error, None);
        assert_eq!(strings(got), expected, "cut at {cut}");
    }
}

#[test]
fn a_partial_bulk_says_how_much_is_missing() {
    let mut parser = Parser::new(Limits::default());
    match parser.parse(b"*2\r\n$4\r\nECHO\r\n$10\r\nabc") {
        Parsed::Incomplete { need } => assert_eq!(need, 7 + 2),
        other => panic!("{other:?}"),
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
    let first = |input: &[u8]| feed(limits, &[input]).1;
    assert_eq!(
        first(b"*2\r\n$4\r\nECHO\r\n$101\r\n"),
        Some(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        first(b"*4\r\n"),
        Some(ProtocolError::InvalidMultibulkLength)
    );
    // Two bulks that each fit but together exceed the request limit.
    let request = [
        &b"*3\r\n$3\r\nSET\r\n$80\r\n"[..],
        &[b'k'; 80],
        b"\r\n$80\r\n",
    ]
    .concat();
    assert_eq!(
        first(&request),
        Some(ProtocolError::RequestTooLong { limit: 150 })
    );
    // A line without its end: rejected once it is longer than the limit.
    assert_eq!(first(b"ECHO aaaaaaaaaaa"), None);
    assert_eq!(
        first(b"ECHO aaaaaaaaaaaa"),
        Some(ProtocolError::InlineTooBig)
    );
    // Also when the end is there, so the result does not depend on how the
    // input was split into reads.
    assert_eq!(
        first(b"ECHO aaaaaaaaaaaaaaaaaaaa\r\n"),
        Some(ProtocolError::InlineTooBig)
    );
    assert_eq!(
        first(b"*11111111111111111"),
        Some(ProtocolError::MultibulkCountTooBig)
    );
    assert_eq!(
        first(b"*1\r\n$11111111111111111"),
        Some(ProtocolError::BulkCountTooBig)
    );
    assert_eq!(
        first(b"*1\0\r\n"),
        Some(ProtocolError::MultibulkCountTooBig)
    );
    assert_eq!(
        first(b"*1\r\n$4\0\r\n"),
        Some(ProtocolError::BulkCountTooBig)
    );
}

#[test]
fn a_line_trickling_in_is_searched_once() {
    // One byte at a time: the search resumes where it stopped, and the
    // result is the same as in one piece.
    let line = [&b"ECHO "[..], &[b'a'; 60_000], b"\r\n"].concat();
    let pieces: Vec<&[u8]> = line.chunks(1).collect();
    let (requests, error) = feed(Limits::default(), &pieces);
    assert_eq!(error, None);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0][1].len(), 60_000);
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
    reply::null(&mut out, false);
    reply::array(&mut out, 2);
    reply::null_array(&mut out, false);
    reply::null(&mut out, true);
    reply::map(&mut out, 1, true);
    reply::map(&mut out, 1, false);
    reply::push(&mut out, 3, true);
    reply::set(&mut out, 2, true);
    reply::verbatim(&mut out, b"a:1", true);
    assert_eq!(
        out.escape_ascii().to_string(),
        b"+OK\r\n-ERR bad  thing\r\n:-12\r\n:-9223372036854775808\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n*-1\r\n_\r\n%1\r\n*2\r\n>3\r\n~2\r\n=7\r\ntxt:a:1\r\n"
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

/// Cuts `input` at the given (sorted, deduplicated) points.
fn cut<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut at = 0;
    for p in points {
        pieces.push(&input[at..p]);
        at = p;
    }
    pieces.push(&input[at..]);
    pieces
}

fn frame() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..6)
}

/// A header or bulk line Redis rejects, for the frame's `*` (`true`) or a
/// `$` (`false`).
fn bad_header() -> impl Strategy<Value = (bool, Vec<u8>, ProtocolError)> {
    use ProtocolError::{ExpectedBulk, InvalidBulkLength, InvalidMultibulkLength};
    prop_oneof![
        Just((true, b"*03\r\n".to_vec(), InvalidMultibulkLength)),
        Just((true, b"*1 \r\n".to_vec(), InvalidMultibulkLength)),
        Just((true, b"*x\r\n".to_vec(), InvalidMultibulkLength)),
        Just((true, b"*-0\r\n".to_vec(), InvalidMultibulkLength)),
        Just((false, b"$01\r\n".to_vec(), InvalidBulkLength)),
        Just((false, b"$1 \r\n".to_vec(), InvalidBulkLength)),
        Just((false, b"$-2\r\n".to_vec(), InvalidBulkLength)),
        Just((false, b":1\r\n".to_vec(), ExpectedBulk(b':'))),
        Just((false, b"*1\r\n".to_vec(), ExpectedBulk(b'*'))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Encode → parse gives the frames back, however the bytes arrive.
    #[test]
    fn frames_round_trip(
        frames in prop::collection::vec(frame(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input = encode(&frames);
        let (got, error) = feed(Limits::default(), &cut(&input, &cuts));
        prop_assert_eq!(error, None);
        prop_assert_eq!(got, frames);
    }

    /// Arbitrary bytes (and valid frames with bytes flipped, so the parser
    /// gets deep into frames): the parser always terminates, consumes only
    /// what it was given, and keeps its memory within its limits.
    #[test]
    fn arbitrary_bytes_terminate_within_bounds(
        frames in prop::collection::vec(frame(), 0..4),
        noise in prop::collection::vec(any::<u8>(), 0..300),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut input = encode(&frames);
        input.extend_from_slice(&noise);
        for (at, byte) in flips {
            if !input.is_empty() {
                let at = at % input.len();
                input[at] = byte;
            }
        }
        let limits = Limits {
            max_bulk_len: 64,
            max_args: 8,
            max_inline_len: 32,
            max_request_len: 256,
        };
        let mut parser = Parser::new(limits);
        let mut buffer = Vec::new();
        for piece in cut(&input, &cuts) {
            buffer.extend_from_slice(piece);
            let mut calls = 0;
            loop {
                calls += 1;
                prop_assert!(calls <= input.len() + 2, "the parser loops");
                let step = match parser.parse(&buffer) {
                    Parsed::Request { args, consumed } => {
                        prop_assert!(args.len() <= limits.max_args);
                        prop_assert!(args.iter_from(0).all(|a| a.len() <= limits.max_bulk_len.max(limits.max_inline_len)));
                        Some(consumed)
                    }
                    Parsed::Skip(n) => Some(n),
                    Parsed::Incomplete { .. } => None,
                    Parsed::Fatal(_) => return Ok(()),
                };
                // At most max_args spans (1 KiB preallocated at most) and
                // one inline line, with the slack of a growing `Vec`.
                prop_assert!(parser.heap_size() <= 16 * 1024 + 2 * limits.max_inline_len);
                match step {
                    Some(n) => {
                        prop_assert!(n > 0 && n <= buffer.len());
                        buffer.drain(..n);
                    }
                    None => break,
                }
            }
            // What waits for more is never more than a limit allows.
            prop_assert!(buffer.len() <= limits.max_request_len + 2 * limits.max_inline_len + piece.len());
        }
    }

    /// A frame with a bad header stops the connection: the frames before it
    /// run, nothing of it or after it does, however the bytes arrive.
    #[test]
    fn a_malformed_frame_runs_nothing(
        before in prop::collection::vec(frame(), 0..3),
        bad in frame(),
        (outer, header, expected) in bad_header(),
        which in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut input = encode(&before);
        if outer {
            input.extend_from_slice(&header);
            for arg in &bad {
                reply::bulk(&mut input, arg);
            }
        } else {
            let which = which % bad.len();
            reply::array(&mut input, bad.len());
            for (i, arg) in bad.iter().enumerate() {
                if i == which {
                    input.extend_from_slice(&header);
                    input.extend_from_slice(arg);
                    input.extend_from_slice(b"\r\n");
                } else {
                    reply::bulk(&mut input, arg);
                }
            }
        }
        input.extend_from_slice(b"*1\r\n$8\r\nFLUSHALL\r\nFLUSHALL\r\n");
        let (got, error) = feed(Limits::default(), &cut(&input, &cuts));
        prop_assert_eq!(got, before);
        prop_assert_eq!(error, Some(expected));
    }
}
