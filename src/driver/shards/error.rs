//! The errors of the shards: a message that could not be sent
//! ([`ShardSendError`], with the message given back), a call without an
//! answer ([`CallError`]), a shard that failed ([`ShardFailure`]), and
//! shards that could not start ([`StartError`]).

use std::any::Any;
use std::fmt;

use super::reply::NoReply;

/// A message to another shard was not sent; the message is given back
/// ([`into_message`](ShardSendError::into_message)).
#[derive(PartialEq, Eq)]
pub enum ShardSendError<M> {
    /// There is no shard with this index.
    NoSuchShard {
        /// The index asked for.
        shard: usize,
        /// How many shards there are.
        shards: usize,
        /// The message.
        message: M,
    },
    /// The shard stopped (it finished, was stopped, or failed) and takes
    /// no more messages.
    Stopped {
        /// The shard's index.
        shard: usize,
        /// The message.
        message: M,
    },
    /// The shard's queue is full; only from the sends that do not wait
    /// ([`Mesh::try_send`](super::Mesh::try_send)).
    Full {
        /// The shard's index.
        shard: usize,
        /// The message.
        message: M,
    },
}

impl<M> ShardSendError<M> {
    /// The message that was not sent.
    pub fn into_message(self) -> M {
        match self {
            ShardSendError::NoSuchShard { message, .. }
            | ShardSendError::Stopped { message, .. }
            | ShardSendError::Full { message, .. } => message,
        }
    }

    /// The shard the message was for.
    pub fn shard(&self) -> usize {
        match self {
            ShardSendError::NoSuchShard { shard, .. }
            | ShardSendError::Stopped { shard, .. }
            | ShardSendError::Full { shard, .. } => *shard,
        }
    }
}

impl<M> fmt::Debug for ShardSendError<M> {
    /// Leaves the message out, so that any message type can be shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardSendError::NoSuchShard { shard, shards, .. } => f
                .debug_struct("NoSuchShard")
                .field("shard", shard)
                .field("shards", shards)
                .finish_non_exhaustive(),
            ShardSendError::Stopped { shard, .. } => f
                .debug_struct("Stopped")
                .field("shard", shard)
                .finish_non_exhaustive(),
            ShardSendError::Full { shard, .. } => f
                .debug_struct("Full")
                .field("shard", shard)
                .finish_non_exhaustive(),
        }
    }
}

impl<M> fmt::Display for ShardSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardSendError::NoSuchShard { shard, shards, .. } => write!(
                f,
                "there is no shard {shard}: the shards are numbered 0 to {}; the message is given back",
                shards.saturating_sub(1)
            ),
            ShardSendError::Stopped { shard, .. } => write!(
                f,
                "shard {shard} has stopped and takes no more messages; the message is given back"
            ),
            ShardSendError::Full { shard, .. } => write!(
                f,
                "the queue of shard {shard} is full; the message is given back (a task's `Mesh::send` waits for room instead)"
            ),
        }
    }
}

impl<M> std::error::Error for ShardSendError<M> {}

/// A [`Mesh::call`](super::Mesh::call) that got no answer.
#[derive(PartialEq, Eq)]
pub enum CallError<M> {
    /// The request was not sent; it is given back.
    Send(ShardSendError<M>),
    /// The request was sent, but its [`Reply`](super::Reply) was dropped
    /// unanswered: the handler did not answer, panicked, or its shard
    /// stopped before handling it.
    NoReply {
        /// The shard the request went to.
        shard: usize,
    },
}

impl<M> CallError<M> {
    /// The request, if it was not sent.
    pub fn into_message(self) -> Option<M> {
        match self {
            CallError::Send(error) => Some(error.into_message()),
            CallError::NoReply { .. } => None,
        }
    }
}

impl<M> fmt::Debug for CallError<M> {
    /// Leaves the request out, so that any message type can be shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Send(error) => f.debug_tuple("Send").field(error).finish(),
            CallError::NoReply { shard } => {
                f.debug_struct("NoReply").field("shard", shard).finish()
            }
        }
    }
}

impl<M> From<ShardSendError<M>> for CallError<M> {
    fn from(error: ShardSendError<M>) -> Self {
        CallError::Send(error)
    }
}

impl<M> fmt::Display for CallError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Send(error) => error.fmt(f),
            CallError::NoReply { shard } => NoReply { shard: *shard }.fmt(f),
        }
    }
}

impl<M> std::error::Error for CallError<M> {}

/// Why a shard failed; see [`Shards::join`](super::Shards::join).
pub enum ShardFailure {
    /// The shard's main task, its state's factory, its teardown or its
    /// `finish` panicked; this is the payload.
    Panicked {
        /// The shard's index.
        shard: usize,
        /// The panic's payload (already printed by the panic hook).
        payload: Box<dyn Any + Send + 'static>,
    },
    /// The shard's main task could not be spawned (no stack).
    Spawn {
        /// The shard's index.
        shard: usize,
        /// The core's error.
        error: crate::Error,
    },
    /// The shard's thread could not be pinned to its CPU
    /// ([`ShardsBuilder::pin_to_cores`](super::ShardsBuilder::pin_to_cores));
    /// the shard did not start.
    Pin {
        /// The shard's index.
        shard: usize,
        /// The CPU it was to run on.
        cpu: usize,
    },
}

impl ShardFailure {
    /// The index of the shard that failed.
    pub fn shard(&self) -> usize {
        match self {
            ShardFailure::Panicked { shard, .. }
            | ShardFailure::Spawn { shard, .. }
            | ShardFailure::Pin { shard, .. } => *shard,
        }
    }

    /// The panic's message, if it was a panic with a string message.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ShardFailure::Panicked { payload, .. } => payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            ShardFailure::Spawn { .. } | ShardFailure::Pin { .. } => None,
        }
    }
}

impl fmt::Debug for ShardFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardFailure::Panicked { shard, .. } => f
                .debug_struct("Panicked")
                .field("shard", shard)
                .field("message", &self.panic_message())
                .finish_non_exhaustive(),
            ShardFailure::Spawn { shard, error } => f
                .debug_struct("Spawn")
                .field("shard", shard)
                .field("error", error)
                .finish(),
            ShardFailure::Pin { shard, cpu } => f
                .debug_struct("Pin")
                .field("shard", shard)
                .field("cpu", cpu)
                .finish(),
        }
    }
}

impl fmt::Display for ShardFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardFailure::Panicked { shard, .. } => match self.panic_message() {
                Some(message) => write!(f, "shard {shard} panicked: {message}"),
                None => write!(f, "shard {shard} panicked"),
            },
            ShardFailure::Spawn { shard, error } => {
                write!(f, "shard {shard} could not spawn its main task: {error}")
            }
            ShardFailure::Pin { shard, cpu } => write!(
                f,
                "shard {shard} could not pin its thread to CPU {cpu} (is the CPU still allowed to this process?)"
            ),
        }
    }
}

impl std::error::Error for ShardFailure {}

/// The shards could not start.
#[derive(Debug)]
pub enum StartError {
    /// Zero shards were asked for.
    NoShards,
    /// A queue capacity of zero was asked for.
    ZeroCapacity,
    /// [`ShardsBuilder::pin_to_cores`](super::ShardsBuilder::pin_to_cores)
    /// was asked for, and the CPUs this thread may run on could not be
    /// listed; no shard was started.
    Cpus,
    /// A shard's thread could not be started; the shards already started
    /// were stopped and joined.
    Thread {
        /// The shard whose thread did not start.
        shard: usize,
        /// The operating system's error.
        error: std::io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NoShards => f.write_str(
                "zero shards were asked for: ask for at least one (`ShardsBuilder::shards`)",
            ),
            StartError::ZeroCapacity => f.write_str(
                "a queue capacity of zero was asked for: a shard's queue needs room for at least one message (`ShardsBuilder::queue_capacity`)",
            ),
            StartError::Cpus => f.write_str(
                "the CPUs to pin the shards to could not be listed: start them without `ShardsBuilder::pin_to_cores`",
            ),
            StartError::Thread { shard, error } => write!(
                f,
                "the thread of shard {shard} could not be started ({error}); the shards already started were stopped"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Thread { error, .. } => Some(error),
            _ => None,
        }
    }
}
