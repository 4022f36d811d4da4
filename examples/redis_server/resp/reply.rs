//! Reply encoders: each appends one RESP2 value to `out`.

/// `+text`: a status such as `OK` or `PONG`.
pub fn simple(out: &mut Vec<u8>, text: &str) {
    out.push(b'+');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `-message`: an error. `message` starts with its code (`ERR`,
/// `WRONGTYPE`, ...); CR and LF in it are replaced by spaces, as Redis
/// does. Bytes, not only text: Redis quotes arguments into some errors
/// as they came.
pub fn error(out: &mut Vec<u8>, message: impl AsRef<[u8]>) {
    out.push(b'-');
    out.extend(
        message
            .as_ref()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
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

/// A missing value: RESP2's null bulk string `$-1`, or RESP3's null `_`.
pub fn null(out: &mut Vec<u8>, resp3: bool) {
    out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" });
}

/// A missing array: RESP2's null array `*-1`, or RESP3's null `_`.
pub fn null_array(out: &mut Vec<u8>, resp3: bool) {
    out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" });
}

/// The header of a map of `len` pairs: RESP3's `%len`, or in RESP2 a flat
/// array of `2 * len` values.
pub fn map(out: &mut Vec<u8>, len: usize, resp3: bool) {
    if resp3 {
        out.push(b'%');
        decimal(out, len as i64);
        out.extend_from_slice(b"\r\n");
    } else {
        array(out, 2 * len);
    }
}

/// The header of a set (RESP3 `~len`; an array in RESP2).
pub fn set(out: &mut Vec<u8>, len: usize, resp3: bool) {
    header(out, if resp3 { b'~' } else { b'*' }, len);
}

/// The header of an out-of-band message (RESP3 push `>len`; an array in
/// RESP2).
pub fn push(out: &mut Vec<u8>, len: usize, resp3: bool) {
    header(out, if resp3 { b'>' } else { b'*' }, len);
}

/// Text for a person (`INFO`): RESP3's verbatim string `=len\r\ntxt:...`,
/// or a bulk string in RESP2.
pub fn verbatim(out: &mut Vec<u8>, text: &[u8], resp3: bool) {
    if !resp3 {
        return bulk(out, text);
    }
    header(out, b'=', text.len() + 4);
    out.extend_from_slice(b"txt:");
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    decimal(out, len as i64);
    out.extend_from_slice(b"\r\n");
}

/// `*len`: the header of an array; `len` values follow.
pub fn array(out: &mut Vec<u8>, len: usize) {
    out.push(b'*');
    decimal(out, len as i64);
    out.extend_from_slice(b"\r\n");
}

/// A multibulk request, as clients send it (for tests and tools).
#[allow(dead_code)] // used by the tests and the fuzz targets
pub fn request<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    array(out, args.len());
    for arg in args {
        bulk(out, arg.as_ref());
    }
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
