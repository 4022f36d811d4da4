//! A line-based chat protocol, one coroutine per client session.
//!
//! The main stack plays the network: it feeds lines from three clients, in
//! the order they "arrive", to the session coroutine of each client. Every
//! session is straight-line code (greet, authenticate, chat, quit) instead
//! of a state machine, and all sessions share one `Server` state with no
//! `Rc<RefCell<_>>`: between two yield points a session has the state to
//! itself, and the compiler rejects any borrow of it held across a
//! `co.suspend(..)`.
//!
//! Run it with `cargo run --example chat_sessions`.

use std::collections::{BTreeMap, BTreeSet};

use coshare::{Co, Eff, Handle, Resumed, SpawnOptions, Stage, Yields};

/// The state every session shares.
#[derive(Default)]
struct Server {
    /// Who is logged in.
    online: BTreeSet<String>,
    /// Accounts and their passwords.
    accounts: BTreeMap<String, String>,
    /// The room's history: (author, text).
    history: Vec<(String, String)>,
}

/// What a session hands back to the network for each line: the reply.
type Reply = String;
/// A session is fed lines, replies with one line each, and returns a summary.
type Session = Co<Server, String, Reply>;

/// Keeps asking until `parse` accepts a line; every rejected line gets
/// `prompt` as its reply. A yielding helper: it takes `co` and returns
/// `Eff<Yields, _>`, so `?` passes a cancellation through.
fn expect<T>(
    co: &mut Session,
    mut line: String,
    prompt: &str,
    mut parse: impl FnMut(&str) -> Option<T>,
) -> Eff<Yields, T> {
    loop {
        if let Some(value) = parse(&line) {
            return Ok(value);
        }
        line = co.suspend(format!("ERR {prompt}"))?;
    }
}

/// One client's whole conversation, in the order it happens.
fn session(co: &mut Session, first: String) -> Eff<Yields, String> {
    // 1. Greeting: "HELLO <name>".
    let name = expect(co, first, "say HELLO <name>", |l| {
        l.strip_prefix("HELLO ").map(str::to_owned)
    })?;
    let known = co.with_state(|s| s.accounts.contains_key(&name));
    let mut line = co.suspend(if known {
        format!("OK hello {name}, PASS please")
    } else {
        format!("OK welcome {name}, choose a PASS")
    })?;

    // 2. Authentication: "PASS <secret>", at most three tries.
    let mut tries = 0;
    loop {
        let secret = expect(co, line, "PASS <secret>", |l| {
            l.strip_prefix("PASS ").map(str::to_owned)
        })?;
        // One stretch between yield points: read and write the state freely.
        let accepted = {
            let s = co.state();
            let stored = s.accounts.entry(name.clone()).or_insert(secret.clone());
            *stored == secret
        };
        if accepted {
            break;
        }
        tries += 1;
        if tries == 3 {
            return Ok(format!("{name}: locked out"));
        }
        line = co.suspend("ERR wrong password".into())?;
    }
    let others = co.with_state(|s| {
        s.online.insert(name.clone());
        s.online.len() - 1
    });
    line = co.suspend(format!("OK logged in, {others} other(s) online"))?;

    // 3. Chat until QUIT.
    let mut sent = 0;
    while line != "QUIT" {
        let reply = if let Some(text) = line.strip_prefix("SAY ") {
            co.state().history.push((name.clone(), text.to_owned()));
            sent += 1;
            "OK".to_owned()
        } else if line == "WHO" {
            let s = co.state();
            format!(
                "OK {}",
                s.online.iter().cloned().collect::<Vec<_>>().join(" ")
            )
        } else if line == "LAST" {
            match co.state().history.last() {
                Some((author, text)) => format!("OK {author}: {text}"),
                None => "OK (nothing yet)".to_owned(),
            }
        } else {
            "ERR unknown command".to_owned()
        };
        line = co.suspend(reply)?;
    }
    co.state().online.remove(&name);
    Ok(format!("{name}: sent {sent} message(s)"))
}

fn main() {
    let mut stage = Stage::new(Server::default());

    // The "network": lines from three clients, in arrival order.
    let traffic = [
        (1, "HELLO ada"),
        (2, "hi there"),
        (1, "PASS lovelace"),
        (2, "HELLO bob"),
        (3, "HELLO eve"),
        (2, "PASS builder"),
        (3, "PASS guess1"),
        (1, "SAY hello, world"),
        (2, "WHO"),
        (3, "PASS guess2"),
        (2, "SAY hi ada"),
        (1, "LAST"),
        (3, "PASS guess3"),
        (1, "QUIT"),
        (2, "DANCE"),
        (2, "QUIT"),
    ];
    // Eve registers first, so her guesses later are wrong.
    stage
        .state()
        .accounts
        .insert("eve".into(), "correct horse".into());

    let mut sessions: BTreeMap<u32, Handle<String, Reply, String>> = BTreeMap::new();
    let mut online_before = 0;
    for (client, line) in traffic {
        let handle = *sessions.entry(client).or_insert_with(|| {
            let options = SpawnOptions::new().name(format!("client {client}"));
            stage
                .spawn_with(&options, session)
                .expect("spawn a session")
        });
        println!("[client {client}] > {line}");
        match stage.resume(handle, line.to_owned()) {
            Ok(Resumed::Yield(reply)) => println!("[client {client}] < {reply}"),
            Ok(Resumed::Return(summary)) => println!("[client {client}] closed: {summary}"),
            Err(err) => println!("[client {client}] dropped line: {err}"),
        }
        // The main stack reads the state between resumes.
        let online = stage.state().online.len();
        if online != online_before {
            println!("           -- {online} online");
            online_before = online;
        }
    }

    let history = &stage.state().history;
    println!("history: {history:?}");
}

#[test]
fn run() {
    main();
}
