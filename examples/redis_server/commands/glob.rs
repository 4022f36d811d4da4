//! Redis's glob matching (`stringmatchlen` in `util.c`), for `KEYS`,
//! `PSUBSCRIBE` and `CONFIG GET`.

/// Whether `string` matches `pattern`: `*` any run, `?` any byte,
/// `[abc]`, `[^abc]`, `[a-z]`, and `\x` for a literal `x`. Case-sensitive.
///
/// The same results as Redis, quirks included: an empty string matches
/// only an empty pattern (not even `*`); a class range compares bytes as
/// C's signed `char`; an unterminated class runs to the end of the
/// pattern. Unlike Redis's recursive matcher, this one loops (remembering
/// only the last `*`), so a pattern with many stars cannot exhaust a
/// coroutine's stack, and it runs in O(pattern × string).
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: (pattern after it, string index).
    let mut star: Option<(usize, usize)> = None;
    while s < string.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                star = Some((p, s));
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match_class(pattern, p + 1, string[s]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == string[s]).then_some(p + 2),
            Some(&c) => (c == string[s]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                s += 1;
            }
            (None, Some((after_star, from))) => {
                // Let the last `*` swallow one more byte and retry.
                p = after_star;
                s = from + 1;
                star = Some((after_star, from + 1));
            }
            (None, None) => return false,
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class starting at `pattern[p]` (after the `[`);
/// the index after the class if it matches.
fn match_class(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            // Unterminated: the class takes the rest of the pattern.
            None => break,
            Some(b'\\') if p + 1 < pattern.len() => {
                matched |= pattern[p + 1] == c;
                p += 2;
            }
            Some(b']') => {
                p += 1;
                break;
            }
            Some(&low) if p + 2 < pattern.len() && pattern[p + 1] == b'-' => {
                // C compares `char`s, signed on the platforms Redis runs on.
                let (low, high) = (low as i8, pattern[p + 2] as i8);
                let (low, high) = if low <= high {
                    (low, high)
                } else {
                    (high, low)
                };
                matched |= (low..=high).contains(&(c as i8));
                p += 3;
            }
            Some(&literal) => {
                matched |= literal == c;
                p += 1;
            }
        }
    }
    (matched != negate).then_some(p)
}
