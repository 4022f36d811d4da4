//! The keyspace: values, deadlines, the reaper's agenda, and the WATCH
//! bookkeeping that every write reports to.
//!
//! Every change to a key goes through one of [`Db::put_str`],
//! [`Db::remove`], [`Db::set_expiry`], [`Db::entry_mut`] (followed by
//! [`Db::touch`] once the change is made) or [`Db::flush`], and each of them
//! tells the watchers of that key (Redis's `signalModifiedKey`). A key that
//! expires is removed through [`Db::remove`] too, so expiry invalidates a
//! WATCH as any other write does.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use super::Db;

/// A value in the keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (also what `INCR` works on).
    Str(Vec<u8>),
    /// A list (`LPUSH`, `RPUSH`, ...).
    List(VecDeque<Vec<u8>>),
}

/// A key's value and deadline.
#[derive(Debug)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// The deadline, in whole milliseconds on the server's clock, if the
    /// key has a TTL. The key is expired once the clock is *past* it, as in
    /// Redis (`now > when`).
    pub expires_at: Option<u64>,
}

/// What one [`Db::reap`] step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// Keys removed.
    pub removed: usize,
    /// Whether due keys are left (the budget ran out).
    pub more_due: bool,
    /// When the earliest key left becomes due (one millisecond after its
    /// deadline), on the server's clock.
    pub next: Option<Duration>,
}

/// The keys of one database and their deadlines.
#[derive(Debug, Default)]
pub struct Keyspace {
    pub(super) keys: HashMap<Vec<u8>, Entry>,
    /// Every key with a TTL, by deadline: the reaper's agenda.
    pub(super) expiries: BTreeSet<(u64, Vec<u8>)>,
}

/// Who watches which key (`WATCH`), and which watchers saw a change.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: HashMap<Vec<u8>, Vec<u64>>,
    by_client: HashMap<u64, Watcher>,
}

#[derive(Debug, Default)]
struct Watcher {
    keys: Vec<Vec<u8>>,
    dirty: bool,
}

impl Watches {
    /// Adds `key` to what `client` watches.
    pub fn watch(&mut self, client: u64, key: &[u8]) {
        let watcher = self.by_client.entry(client).or_default();
        if watcher.dirty || watcher.keys.iter().any(|k| k == key) {
            return; // a dirty transaction fails anyway, as in Redis
        }
        watcher.keys.push(key.to_vec());
        self.by_key.entry(key.to_vec()).or_default().push(client);
    }

    /// How many clients watch keys (`INFO`'s `watching_clients`).
    pub fn clients(&self) -> usize {
        self.by_client.len()
    }

    /// How many keys are watched (`INFO`'s `total_watched_keys`).
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }

    /// Forgets every key `client` watches, and whether one changed.
    pub fn unwatch(&mut self, client: u64) {
        let Some(watcher) = self.by_client.remove(&client) else {
            return;
        };
        for key in watcher.keys {
            if let Some(clients) = self.by_key.get_mut(&key) {
                clients.retain(|&c| c != client);
                if clients.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    /// Whether a key `client` watches changed since it was watched.
    pub fn is_dirty(&self, client: u64) -> bool {
        self.by_client.get(&client).is_some_and(|w| w.dirty)
    }

    /// The keys `client` watches.
    pub fn keys_of(&self, client: u64) -> Vec<Vec<u8>> {
        self.by_client
            .get(&client)
            .map(|w| w.keys.clone())
            .unwrap_or_default()
    }

    /// `key` changed: every transaction watching it will fail.
    fn touch(&mut self, key: &[u8]) {
        if let Some(clients) = self.by_key.get(key) {
            for client in clients {
                if let Some(watcher) = self.by_client.get_mut(client) {
                    watcher.dirty = true;
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl Db {
    /// Whether the reaper should be woken because a deadline earlier than
    /// every other was set since the last call.
    pub fn take_reaper_wakeup(&mut self) -> bool {
        std::mem::take(&mut self.reaper_wakeup)
    }

    /// The earliest deadline, if any key has a TTL.
    pub fn next_deadline(&self) -> Option<u64> {
        self.space.expiries.first().map(|(at, _)| *at)
    }

    /// Removes the keys that are expired at `now`, at most `budget` of them.
    pub fn reap(&mut self, now: Duration, budget: usize) -> Reaped {
        let now = millis(now);
        let mut removed = 0;
        while removed < budget {
            match self.space.expiries.first() {
                Some((at, _)) if now > *at => {}
                _ => break,
            }
            let (_, key) = self.space.expiries.pop_first().expect("checked above");
            self.space.keys.remove(&key);
            self.watches_touch(&key);
            removed += 1;
        }
        let next = self.next_deadline();
        Reaped {
            removed,
            more_due: next.is_some_and(|at| now > at),
            next: next.map(|at| Duration::from_millis(at.saturating_add(1))),
        }
    }

    /// Keys held, expired ones not removed yet included (`DBSIZE`).
    pub fn len(&self) -> usize {
        self.space.keys.len()
    }

    /// Keys with a TTL.
    pub fn expiring(&self) -> usize {
        self.space.expiries.len()
    }

    /// Removes `key` if it is expired at `now`.
    pub(super) fn expire_if_due(&mut self, key: &[u8], now: u64) {
        if self.space.expiries.is_empty() {
            return; // the common case: no TTL anywhere, one lookup saved
        }
        if let Some(at) = self.space.keys.get(key).and_then(|e| e.expires_at) {
            if now > at {
                self.remove(key);
            }
        }
    }

    /// The live entry of `key`.
    pub(super) fn get(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        self.expire_if_due(key, now);
        self.space.keys.get(key)
    }

    /// The live entry of `key`, to change it in place. Call
    /// [`touch`](Self::touch) once it has changed.
    pub(super) fn entry_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.expire_if_due(key, now);
        self.space.keys.get_mut(key)
    }

    /// Inserts a new entry (the key must not exist).
    pub(super) fn insert(&mut self, key: &[u8], value: Value) {
        self.space.keys.insert(
            key.to_vec(),
            Entry {
                value,
                expires_at: None,
            },
        );
        self.touch(key);
    }

    /// Tells the watchers of `key` that it changed.
    pub(super) fn touch(&mut self, key: &[u8]) {
        self.watches_touch(key);
    }

    fn watches_touch(&mut self, key: &[u8]) {
        if !self.watches.is_empty() {
            self.watches.touch(key);
        }
    }

    /// Removes `key`, live or expired.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.space.keys.remove(key)?;
        if let Some(at) = entry.expires_at {
            self.space.expiries.remove(&(at, key.to_vec()));
        }
        self.watches_touch(key);
        Some(entry)
    }

    /// Removes every key (`FLUSHALL`). The watchers of keys that were there
    /// see a change; watchers of missing keys do not, as in Redis.
    pub(super) fn flush(&mut self) {
        if !self.watches.is_empty() {
            let present: Vec<Vec<u8>> = self
                .watches
                .by_key
                .keys()
                .filter(|key| self.space.keys.contains_key(*key))
                .cloned()
                .collect();
            for key in present {
                self.watches.touch(&key);
            }
        }
        self.space = Keyspace::default();
    }

    /// Sets or clears the deadline of an existing key.
    pub(super) fn set_expiry(&mut self, key: &[u8], at: Option<u64>) {
        let Some(entry) = self.space.keys.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        self.watches_touch(key);
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.space.expiries.remove(&(old, key.to_vec()));
        }
        if let Some(at) = at {
            if self.next_deadline().is_none_or(|first| at < first) {
                self.reaper_wakeup = true;
            }
            self.space.expiries.insert((at, key.to_vec()));
        }
    }

    /// Stores a string value; the TTL is left as it was.
    pub(super) fn put_str(&mut self, key: &[u8], value: &[u8]) {
        match self.space.keys.get_mut(key) {
            // Reuse the old buffer unless it is much too large.
            Some(Entry {
                value: Value::Str(old),
                ..
            }) if old.capacity() <= 2 * value.len() + 64 => {
                old.clear();
                old.extend_from_slice(value);
            }
            Some(entry) => entry.value = Value::Str(value.to_vec()),
            None => {
                self.space.keys.insert(
                    key.to_vec(),
                    Entry {
                        value: Value::Str(value.to_vec()),
                        expires_at: None,
                    },
                );
            }
        }
        self.watches_touch(key);
    }

    /// Every live key, in the map's order.
    pub(super) fn live_keys(&self, now: u64) -> impl Iterator<Item = &Vec<u8>> {
        self.space
            .keys
            .iter()
            .filter(move |(_, entry)| entry.expires_at.is_none_or(|at| at >= now))
            .map(|(key, _)| key)
    }
}

/// Whole milliseconds on the server's clock, as Redis keeps time.
pub fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX)
}
