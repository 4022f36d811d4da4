//! What the Redis tests share: a server on its own thread, clients (the
//! `redis` crate and raw sockets), and a reader of raw RESP replies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use redis::{Connection, RedisResult};

use crate::resp::Limits;
use crate::server::{Options, RedisServer};
use crate::sharded::ShardedServer;

/// A server on its own thread; dropping it sends `SHUTDOWN` and joins.
pub struct TestServer {
    pub addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::with_options(Options::loopback(0))
    }

    pub fn with_limits(limits: Limits) -> TestServer {
        let mut options = Options::loopback(0);
        options.limits = limits;
        TestServer::with_options(options)
    }

    pub fn with_options(options: Options) -> TestServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let server = RedisServer::bind(options).expect("bind a loopback port");
            tx.send(server.local_addr()).unwrap();
            server.run().expect("the server runs until SHUTDOWN");
        });
        let addr = rx.recv().expect("the server thread reports its address");
        TestServer {
            addr,
            thread: Some(thread),
        }
    }

    /// The server split over `threads` shards, each on a thread.
    pub fn sharded(threads: usize) -> TestServer {
        let server = ShardedServer::start(Options::loopback(0), threads, false)
            .expect("bind a loopback port");
        let addr = server.local_addr();
        let thread = thread::spawn(move || server.run().expect("every shard ends cleanly"));
        TestServer {
            addr,
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> Connection {
        let client = redis::Client::open(format!("redis://{}/", self.addr)).unwrap();
        client
            .get_connection()
            .expect("connect with the redis crate")
    }

    pub fn raw(&self) -> TcpStream {
        raw(self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(self.addr) {
            let _ = stream.write_all(b"SHUTDOWN\r\n");
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !thread::panicking() {
                joined.expect("the server thread ends cleanly");
            }
        }
    }
}

/// A raw connection with a read timeout.
pub fn raw(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

pub fn cmd(con: &mut Connection, args: &[&str]) -> RedisResult<redis::Value> {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con)
}

pub fn string(con: &mut Connection, args: &[&str]) -> Option<String> {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con).unwrap()
}

pub fn int(con: &mut Connection, args: &[&str]) -> i64 {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con).unwrap()
}

/// The error a command gets: (code, detail).
pub fn error(con: &mut Connection, args: &[&str]) -> (String, String) {
    let err = cmd(con, args).expect_err("an error reply");
    (
        err.code().unwrap_or("?").to_owned(),
        err.detail().unwrap_or("").to_owned(),
    )
}

/// Reads from a raw connection until `expected` bytes came, or EOF.
pub fn read_n(stream: &mut TcpStream, expected: usize) -> String {
    let mut got = vec![0; expected];
    let mut at = 0;
    while at < expected {
        match stream.read(&mut got[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) => panic!("read failed after {:?}: {e}", got[..at].escape_ascii()),
        }
    }
    String::from_utf8_lossy(&got[..at]).into_owned()
}

/// Reads until the peer closes; what arrived before.
pub fn read_to_eof(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    stream
        .read_to_end(&mut got)
        .expect("the server closes the connection");
    String::from_utf8_lossy(&got).into_owned()
}

/// The length of the first complete RESP2 or RESP3 value in `buf`, if it
/// holds one.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    fn line(buf: &[u8], from: usize) -> Option<usize> {
        buf.get(from..)?
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| from + i + 2)
    }
    fn value(buf: &[u8], at: usize) -> Option<usize> {
        let end = line(buf, at)?;
        let number = || -> i64 {
            std::str::from_utf8(&buf[at + 1..end - 2])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad reply header {:?}", &buf[at..end]))
        };
        match buf[at] {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(end),
            b'$' | b'=' => match number() {
                -1 => Some(end),
                len => {
                    let whole = end + len as usize + 2;
                    (buf.len() >= whole).then_some(whole)
                }
            },
            b'*' | b'~' | b'>' | b'%' => {
                let per_entry = if buf[at] == b'%' { 2 } else { 1 };
                let mut at = end;
                for _ in 0..per_entry * number().max(0) {
                    at = value(buf, at)?;
                }
                Some(at)
            }
            _ => panic!("not a RESP reply: {}", buf[at..].escape_ascii()),
        }
    }
    if buf.is_empty() { None } else { value(buf, 0) }
}

/// A connection that reads whole replies.
pub struct Replies {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Replies {
    pub fn new(stream: TcpStream) -> Replies {
        Replies {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn connect(addr: SocketAddr) -> Replies {
        Replies::new(raw(addr))
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a request as a client library would.
    pub fn request<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let mut bytes = Vec::new();
        crate::resp::reply::request(&mut bytes, args);
        self.send(&bytes);
    }

    /// The next reply, raw; `None` if the server closed first (or the read
    /// timed out).
    pub fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(len) = reply_len(&self.buf) {
                return Some(self.buf.drain(..len).collect());
            }
            let mut chunk = [0; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a request and returns its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.request(args);
        self.next().expect("a reply")
    }
}

/// Shows raw bytes readably in assertion messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
