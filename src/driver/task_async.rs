//! What a [`Task`] does with futures and blocking work: await a future,
//! run a closure on a thread pool, read and write files, look up host
//! names. Each is a yield point, and each is [`Task::wait`] on a source of
//! [`wait`], so each also takes part in a `select`.

use std::future::IntoFuture;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::pin::pin;

use super::sources::future::FutureWait;
use super::task::Task;
use super::wait;
use crate::effect::{Eff, Yields};

impl<S: 'static> Task<'_, S> {
    /// Awaits a future (anything that is `IntoFuture`) and returns its
    /// output: the future is pinned on the task's stack and polled inside
    /// the wait with a real `std::task::Waker`, which is `Send + Sync`.
    /// Woken from another thread (a thread pool, another runtime, a timer
    /// crate), it wakes the driver through its remote core; woken from the
    /// driver's thread, it marks the task ready directly. So a task can
    /// call async libraries in straight-line code.
    ///
    /// A future that needs a runtime's context (tokio's sockets and timers)
    /// must be polled inside it: run the driver inside tokio
    /// (`Driver::run_async`, feature `tokio`),
    /// or enter a multi-thread runtime around the run.
    ///
    /// The borrow rule holds as for every wait: a future that borrows the
    /// state cannot be alive across it (the future is built, and borrows,
    /// before the call that needs the task). If the task is cancelled while
    /// it waits, the future is dropped, which cancels it the async way. If
    /// the future panics, the panic unwinds the task like any panic of its
    /// body and goes to its joiner. (The name is not `wait`: that one takes
    /// a [`Source`](super::Source).)
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = Driver::new(Vec::new());
    /// let h = driver
    ///     .spawn(|t: &mut Task<Vec<u32>>| -> Eff<Yields, u32> {
    ///         // A future completed by another thread.
    ///         let (tx, rx) = std::sync::mpsc::channel::<u32>();
    ///         let answer = async move {
    ///             std::future::poll_fn(|cx| {
    ///                 let waker = cx.waker().clone();
    ///                 let tx = tx.clone();
    ///                 std::thread::spawn(move || {
    ///                     std::thread::sleep(Duration::from_millis(5));
    ///                     tx.send(42).unwrap();
    ///                     waker.wake();
    ///                 });
    ///                 std::task::Poll::Ready(())
    ///             })
    ///             .await;
    ///             std::future::poll_fn(|cx| match rx.try_recv() {
    ///                 Ok(n) => std::task::Poll::Ready(n),
    ///                 Err(_) => {
    ///                     cx.waker().wake_by_ref(); // look again later
    ///                     std::task::Poll::Pending
    ///                 }
    ///             })
    ///             .await
    ///         };
    ///         let n = t.wait_future(answer)?;
    ///         t.state().push(n);
    ///         Ok(n)
    ///     })
    ///     .unwrap();
    /// assert_eq!(driver.block_on(h).unwrap().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn wait_future<F: IntoFuture>(&mut self, future: F) -> Eff<Yields, F::Output> {
        let future = pin!(future.into_future());
        self.wait(FutureWait::new(future))
    }

    /// Runs `work` on a thread pool and waits for its result, without
    /// blocking the driver: for blocking calls (file systems, name
    /// lookups, a synchronous client library, heavy computation). The
    /// closure gets nothing of the state (it must be `Send + 'static`);
    /// copy in what it needs and write its result back after the wait.
    ///
    /// For a timeout, `select` on [`wait::blocking`] and a sleep. A closure
    /// that has started keeps running if the wait is abandoned (a `select`
    /// another source won, a cancellation): its result is then dropped.
    ///
    /// ```
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = Driver::new(0u64);
    /// driver
    ///     .spawn(|t: &mut Task<u64>| -> Eff<Yields, ()> {
    ///         let sum = t.blocking(|| (1..=1000u64).sum::<u64>())?;
    ///         *t.state() = sum;
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// driver.run().unwrap();
    /// assert_eq!(*driver.state(), 500_500);
    /// ```
    #[track_caller]
    pub fn blocking<T, W>(&mut self, work: W) -> Eff<Yields, T>
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
    {
        self.wait(wait::blocking(work))
    }

    /// Reads the whole file at `path`, on the blocking thread pool.
    #[track_caller]
    pub fn read_file(&mut self, path: impl Into<PathBuf>) -> Eff<Yields, io::Result<Vec<u8>>> {
        self.wait(wait::read_file(path))
    }

    /// Writes `contents` to the file at `path` (created, or truncated), on
    /// the blocking thread pool.
    #[track_caller]
    pub fn write_file(
        &mut self,
        path: impl Into<PathBuf>,
        contents: impl Into<Vec<u8>>,
    ) -> Eff<Yields, io::Result<()>> {
        self.wait(wait::write_file(path, contents))
    }

    /// Looks up the addresses of `host` (`"localhost:6379"`,
    /// `("example.org", 443)`, ...) on the blocking thread pool, with the
    /// system resolver.
    #[track_caller]
    pub fn resolve<A>(&mut self, host: A) -> Eff<Yields, io::Result<Vec<SocketAddr>>>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        self.wait(wait::resolve(host))
    }

    /// Connects to a TCP listener named by host and port
    /// (`"localhost:6379"`): resolves the name on the blocking thread pool,
    /// then tries each address in turn, as `std::net::TcpStream::connect`
    /// does; the error is the last address's (or the lookup's, or
    /// `InvalidInput` if the name has no address).
    ///
    /// ```
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = Driver::new(());
    /// let mut listener = driver.handle().tcp_listen("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let port = listener.local_addr().unwrap().port();
    /// driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
    ///         t.accept(&mut listener)?.unwrap();
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// let h = driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, bool> {
    ///         let conn = t.tcp_connect_host(format!("localhost:{port}"))?;
    ///         Ok(conn.is_ok())
    ///     })
    ///     .unwrap();
    /// assert!(driver.block_on(h).unwrap().unwrap());
    /// ```
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn tcp_connect_host<A>(&mut self, host: A) -> Eff<Yields, io::Result<super::TcpStream>>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        let addrs = match self.resolve(host)? {
            Ok(addrs) => addrs,
            Err(err) => return Ok(Err(err)),
        };
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            "the host name resolved to no address",
        );
        for addr in addrs {
            match self.tcp_connect(addr)? {
                Ok(stream) => return Ok(Ok(stream)),
                Err(err) => last = err,
            }
        }
        Ok(Err(last))
    }
}
