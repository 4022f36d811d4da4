//! Tasks call a real async client library, the `redis` crate on tokio,
//! from straight-line code, while other tasks keep running and the shared
//! state stays borrow-checked (feature `tokio`).
//!
//! The example starts a `redis-server` of its own on a free loopback port
//! (it skips, saying so, if none is installed). The driver runs inside a
//! tokio current-thread runtime (`run_async`), so the client's futures are
//! polled inside tokio's context. Three clerk tasks each open a
//! multiplexed connection and take orders (`DECR stock:<item>`), filing
//! each reply into the shared state between two waits; a ticker task runs
//! on the driver's own timer all the while.
//!
//! ```text
//! $ cargo run --example async_redis --features tokio
//! stocked: apple 100, pear 100, plum 100
//! 3 clerks took 60 orders over their own connections
//! left in redis:      apple 80, pear 80, plum 80
//! the shared state:   apple 80, pear 80, plum 80
//! the ticker ran meanwhile: yes
//! ```
//!
//! What the borrow checker keeps out: holding the state across a wait.
//!
//! ```text
//! let shop = t.state();
//! let left: i64 = t.wait_future(cmd.query_async(&mut con))?.unwrap(); // error[E0499]
//! shop.stock.insert(item, left);
//! ```

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coshare::driver::{Driver, Task};
use coshare::{Eff, Yields};

const ITEMS: [&str; 3] = ["apple", "pear", "plum"];
const CLERKS: usize = 3;
const ORDERS: usize = 20;

#[derive(Default)]
struct Shop {
    /// What redis said is left of each item, after the last order of it.
    stock: BTreeMap<&'static str, i64>,
    orders_done: usize,
    ticks: u32,
}

fn main() {
    let Some(server) = RedisServer::start() else {
        println!("redis-server is not installed: skipped");
        return;
    };
    let url = format!("redis://{}/", server.addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut driver = Driver::new(Shop::default());
    let stocked = driver.handle().event();

    // Stock the shelves, then let the clerks in.
    let (url0, open) = (url.clone(), stocked.clone());
    driver
        .spawn(move |t: &mut Task<Shop>| -> Eff<Yields, ()> {
            let client = redis::Client::open(url0).unwrap();
            let mut con = t
                .wait_future(client.get_multiplexed_async_connection())?
                .unwrap();
            for item in ITEMS {
                let mut set = redis::cmd("SET");
                set.arg(format!("stock:{item}")).arg(100);
                let () = t.wait_future(set.query_async(&mut con))?.unwrap();
            }
            open.set();
            Ok(())
        })
        .unwrap();

    for clerk in 0..CLERKS {
        let (url, open) = (url.clone(), stocked.clone());
        driver
            .spawn(move |t: &mut Task<Shop>| -> Eff<Yields, ()> {
                let client = redis::Client::open(url).unwrap();
                let mut con = t
                    .wait_future(client.get_multiplexed_async_connection())?
                    .unwrap();
                t.wait_event(&open)?;
                for order in 0..ORDERS {
                    let item = ITEMS[(clerk + order) % ITEMS.len()];
                    let mut decr = redis::cmd("DECR");
                    decr.arg(format!("stock:{item}"));
                    // A wait: no borrow of the state may live across it.
                    let left: i64 = t.wait_future(decr.query_async(&mut con))?.unwrap();
                    // Between two waits the state is this task's alone.
                    let shop = t.state();
                    let known = shop.stock.entry(item).or_insert(left);
                    *known = (*known).min(left);
                    shop.orders_done += 1;
                }
                Ok(())
            })
            .unwrap();
    }

    driver
        .spawn(|t: &mut Task<Shop>| -> Eff<Yields, ()> {
            while t.state().orders_done < CLERKS * ORDERS {
                t.sleep(Duration::from_micros(200))?;
                t.state().ticks += 1;
            }
            Ok(())
        })
        .unwrap();

    rt.block_on(driver.run_async());

    // Read back what redis holds, from a last task.
    let h = driver
        .spawn(move |t: &mut Task<Shop>| -> Eff<Yields, Vec<i64>> {
            let client = redis::Client::open(url).unwrap();
            let mut con = t
                .wait_future(client.get_multiplexed_async_connection())?
                .unwrap();
            let keys: Vec<String> = ITEMS.iter().map(|i| format!("stock:{i}")).collect();
            let mut get = redis::cmd("MGET");
            get.arg(&keys);
            Ok(t.wait_future(get.query_async(&mut con))?.unwrap())
        })
        .unwrap();
    let in_redis = rt
        .block_on(async {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async {
                    let result = tokio::task::spawn_local(h);
                    driver.run_async().await;
                    result.await.unwrap()
                })
                .await
        })
        .unwrap();

    let shop = driver.state();
    let list = |values: &mut dyn Iterator<Item = i64>| {
        ITEMS
            .iter()
            .zip(values)
            .map(|(item, n)| format!("{item} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("stocked: {}", list(&mut [100; 3].into_iter()));
    println!(
        "{CLERKS} clerks took {} orders over their own connections",
        shop.orders_done
    );
    println!(
        "left in redis:      {}",
        list(&mut in_redis.iter().copied())
    );
    println!(
        "the shared state:   {}",
        list(&mut shop.stock.values().copied())
    );
    println!(
        "the ticker ran meanwhile: {}",
        if shop.ticks > 0 { "yes" } else { "no" }
    );
    assert_eq!(shop.orders_done, CLERKS * ORDERS);
    assert_eq!(in_redis, vec![80, 80, 80]);
    assert!(shop.stock.values().eq(in_redis.iter()));
    assert!(shop.ticks > 0);
}

/// A `redis-server` on a free loopback port, with no persistence; killed
/// on drop.
struct RedisServer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl RedisServer {
    /// `None` if `redis-server` is not installed (an error instead when
    /// `COSHARE_REDIS_DIFF_REQUIRED` is set, as CI does).
    fn start() -> Option<RedisServer> {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists());
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("COSHARE_REDIS_DIFF_REQUIRED").is_none(),
                "redis-server is required (COSHARE_REDIS_DIFF_REQUIRED is set)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("coshare-async-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = RedisServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(server.addr).is_err() {
            assert!(Instant::now() < until, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn runs() {
    main();
}
