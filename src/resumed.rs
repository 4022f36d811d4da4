//! [`Resumed`]: what a resume produced.

/// What a resume produced: the value the coroutine passed to
/// [`Co::suspend`](crate::Co::suspend), or the value its body returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resumed<Yield, Return> {
    /// The coroutine suspended itself with this value.
    Yield(Yield),
    /// The coroutine's body returned this value; it cannot run again.
    Return(Return),
}

impl<Y, R> Resumed<Y, R> {
    /// The yielded value, if the coroutine suspended.
    pub fn yielded(self) -> Option<Y> {
        match self {
            Resumed::Yield(value) => Some(value),
            Resumed::Return(_) => None,
        }
    }

    /// The returned value, if the coroutine finished.
    pub fn returned(self) -> Option<R> {
        match self {
            Resumed::Yield(_) => None,
            Resumed::Return(value) => Some(value),
        }
    }

    /// Whether the coroutine suspended (and can be resumed again).
    pub fn is_yield(&self) -> bool {
        matches!(self, Resumed::Yield(_))
    }

    /// Whether the coroutine finished.
    pub fn is_return(&self) -> bool {
        matches!(self, Resumed::Return(_))
    }
}
