//! A connection's input buffer.

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
