//! A small key-value service over TCP, sharded over two threads.
//!
//! Each shard owns the keys that hash to it, in its own state (a plain
//! `HashMap`, not `Send`, never locked). Both shards listen on the same
//! port with `SO_REUSEPORT`, so the kernel spreads the connections over
//! them and each connection stays on the thread that accepted it. A
//! connection's task serves a line protocol (`SET key value`, `GET key`);
//! for a key that another shard owns it calls that shard through the mesh
//! and waits for the answer, as straight-line code.
//!
//! ```text
//! $ cargo run --example shards
//! 4 clients, 16 keys set and read back through either shard
//! shard 0 owns 8 keys, shard 1 owns 8 keys
//! every connection got its answers in order: yes
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::mpsc;

use coshare::driver::shards::{Finished, Mesh, Reply, Shard, ShardsBuilder};
use coshare::driver::{Task, TcpListenOptions, TcpListener, TcpStream};
use coshare::{Eff, Yields};

const SHARDS: usize = 2;

/// What one shard asks another about a key the other owns.
enum Op {
    Set(String, String, Reply<()>),
    Get(String, Reply<Option<String>>),
}

/// A shard's part of the keyspace, and its listener until its main task
/// takes it.
struct Store {
    keys: HashMap<String, String>,
    listener: Option<TcpListener>,
}

type T<'a> = Task<'a, Store>;

/// The shard that owns `key`: a fixed hash, the same on every shard.
fn owner(key: &str) -> usize {
    key.bytes().map(usize::from).sum::<usize>() % SHARDS
}

/// Runs one command, here or on the key's owner.
fn command(t: &mut T<'_>, mesh: &Mesh<Op, Store>, line: &str) -> Eff<Yields, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let here = mesh.index();
    Ok(match words.as_slice() {
        ["SET", key, value] if owner(key) == here => {
            t.state().keys.insert(key.to_string(), value.to_string());
            "OK".into()
        }
        ["SET", key, value] => {
            let (key, value) = (key.to_string(), value.to_string());
            match mesh.call(t, owner(&key), |reply| Op::Set(key, value, reply))? {
                Ok(()) => "OK".into(),
                Err(error) => format!("ERR {error}"),
            }
        }
        ["GET", key] if owner(key) == here => {
            t.state().keys.get(*key).cloned().unwrap_or("nil".into())
        }
        ["GET", key] => {
            let key = key.to_string();
            match mesh.call(t, owner(&key), |reply| Op::Get(key, reply))? {
                Ok(value) => value.unwrap_or("nil".into()),
                Err(error) => format!("ERR {error}"),
            }
        }
        _ => "ERR unknown command".into(),
    })
}

/// Serves one connection: a line in, a line out.
fn connection(t: &mut T<'_>, mesh: &Mesh<Op, Store>, mut stream: TcpStream) -> Eff<Yields, ()> {
    let mut pending = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            let mut answer = command(t, mesh, &line)?;
            answer.push('\n');
            if t.write_all(&mut stream, answer.as_bytes())?.is_err() {
                return Ok(());
            }
        }
        match t.read(&mut stream, &mut buf)? {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// A shard's main task: accepts connections on the shared port and
/// answers the other shard's requests.
fn shard_main(t: &mut T<'_>, shard: Shard<Op, Store>) -> Eff<Yields, ()> {
    let mut listener = t.state().listener.take().expect("the listener");
    let (mesh, mut inbox) = shard.into_parts();
    t.spawn(move |t: &mut T<'_>| -> Eff<Yields, ()> {
        while let Ok((stream, _)) = t.accept(&mut listener)? {
            let mesh = mesh.clone();
            t.spawn(move |t: &mut T<'_>| connection(t, &mesh, stream))
                .expect("spawn");
        }
        Ok(())
    })
    .expect("spawn");
    while let Ok(op) = t.recv(&mut inbox)? {
        match op {
            Op::Set(key, value, reply) => {
                t.state().keys.insert(key, value);
                let _ = reply.send(());
            }
            Op::Get(key, reply) => {
                let value = t.state().keys.get(&key).cloned();
                let _ = reply.send(value);
            }
        }
    }
    Ok(())
}

fn main() {
    // A free port for both shards.
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("address")
    };
    let (listening, ready) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(SHARDS)
        .start(
            // On each shard's thread: its own listener on the shared port.
            move |_, handle| {
                let options = TcpListenOptions::new().reuse_port(true);
                let listener = handle.tcp_listen_with(addr, &options).expect("listen");
                listening.send(()).expect("the caller waits");
                Store {
                    keys: HashMap::new(),
                    listener: Some(listener),
                }
            },
            shard_main,
            |end: Finished<Store, Op>| end.state.keys.len(),
        )
        .expect("start the shards");
    for _ in 0..SHARDS {
        ready.recv().expect("a shard listens");
    }

    let mut in_order = true;
    let clients: Vec<_> = (0..4)
        .map(|client| {
            std::thread::spawn(move || {
                let mut ok = true;
                let stream = StdStream::connect(addr).expect("connect");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                let mut ask = |line: String| {
                    stream.write_all(line.as_bytes()).expect("write");
                    let mut answer = String::new();
                    reader.read_line(&mut answer).expect("read");
                    answer.trim_end().to_string()
                };
                for n in 0..4 {
                    let key = format!("key-{client}-{n}");
                    ok &= ask(format!("SET {key} v{n}\n")) == "OK";
                }
                for n in 0..4 {
                    ok &= ask(format!("GET key-{client}-{n}\n")) == format!("v{n}");
                }
                ok
            })
        })
        .collect();
    for client in clients {
        in_order &= client.join().expect("a client");
    }
    shards.stop();
    let owned: Vec<usize> = shards
        .join()
        .into_iter()
        .map(|end| end.expect("a shard"))
        .collect();
    println!("4 clients, 16 keys set and read back through either shard");
    println!(
        "shard 0 owns {} keys, shard 1 owns {} keys",
        owned[0], owned[1]
    );
    println!(
        "every connection got its answers in order: {}",
        if in_order { "yes" } else { "no" }
    );
    assert!(in_order);
    assert_eq!(owned.iter().sum::<usize>(), 16);
}

#[test]
fn run_main() {
    main();
}
