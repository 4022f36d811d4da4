//! Splitting an inline command line into words: Redis's `sdssplitargs`,
//! byte for byte.

/// C's `isspace` in the C locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
/// (Rust's `is_ascii_whitespace` leaves out `\v`.)
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits an inline command line into words, as Redis's `sdssplitargs`:
///
/// * words are separated by runs of C whitespace (`isspace`); an unquoted
///   word ends at a space, `\t`, `\r` or `\n` only (not at `\v` or `\f`);
/// * `"..."` may hold `\n \r \t \b \a \\ \" \xHH` escapes (any other
///   escaped byte stands for itself); `'...'` only `\'`;
/// * a quote in the middle of a word opens a quoted part of that word;
/// * a closing quote must be followed by whitespace or the end of the
///   line, and every quote must be closed, or the line is an error;
/// * the line is a C string: a NUL byte ends it.
///
/// The unquoted words go to `out`, their ranges to `spans`. Runs in one
/// pass, and never pushes more than `line.len()` bytes.
pub fn split_inline(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> Result<(), ()> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // `at(i)` is the C string's byte `i`: NUL past the end.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let (mut double, mut single) = (false, false);
        loop {
            let c = at(i);
            if double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && at(i + 2).is_ascii_hexdigit()
                    && at(i + 3).is_ascii_hexdigit()
                {
                    out.push(hex(at(i + 2)) * 16 + hex(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    out.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return Err(());
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(()); // unterminated quotes
                } else {
                    out.push(c);
                }
            } else if single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return Err(());
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return Err(()); // unterminated quotes
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
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
