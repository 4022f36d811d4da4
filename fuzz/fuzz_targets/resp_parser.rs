//! The RESP parser on arbitrary bytes, fed in pieces.
//!
//! The first input byte chooses the piece size. Checked on every input:
//! the parser never panics or loops (each call consumes input, asks for
//! more, or stops), never consumes more than it was given, keeps its own
//! memory within its limits, and finds the same requests and the same error
//! however the bytes are split into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../examples/redis_server/resp/mod.rs"]
mod resp;

use resp::{Limits, Parsed, Parser, ProtocolError};

/// Small limits, so that the fuzzer reaches every one of them.
const LIMITS: Limits = Limits {
    max_bulk_len: 64,
    max_args: 8,
    max_inline_len: 48,
    max_request_len: 256,
};

type Outcome = (Vec<Vec<Vec<u8>>>, Option<ProtocolError>);

fn feed(input: &[u8], piece: usize) -> Outcome {
    let mut parser = Parser::new(LIMITS);
    let mut buffer = Vec::new();
    let mut requests = Vec::new();
    let mut calls = 0;
    for chunk in input.chunks(piece.max(1)) {
        buffer.extend_from_slice(chunk);
        loop {
            calls += 1;
            assert!(calls <= 2 * input.len() + 2, "the parser loops");
            let step = match parser.parse(&buffer) {
                Parsed::Request { args, consumed } => {
                    assert!(args.len() >= 1);
                    requests.push(args.iter_from(0).map(<[u8]>::to_vec).collect());
                    Some(consumed)
                }
                Parsed::Skip(n) => Some(n),
                Parsed::Incomplete { need } => {
                    assert!(need >= 1);
                    None
                }
                Parsed::Fatal(error) => return (requests, Some(error)),
            };
            assert!(parser.heap_size() <= 16 * 1024 + 2 * LIMITS.max_inline_len);
            match step {
                Some(n) => {
                    assert!(
                        n >= 1 && n <= buffer.len(),
                        "consumed {n} of {}",
                        buffer.len()
                    );
                    buffer.drain(..n);
                }
                None => break,
            }
        }
        // What waits for more is bounded by the limits.
        assert!(buffer.len() <= LIMITS.max_request_len + 2 * LIMITS.max_inline_len + chunk.len());
    }
    (requests, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = feed(input, input.len());
    let pieces = feed(input, usize::from(first % 17) + 1);
    assert_eq!(
        whole, pieces,
        "the result depends on how the input was split"
    );
});
