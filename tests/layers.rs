//! The crate's layering, checked from its source text: no import loops
//! between the files of `src/`, the trusted core (`src/raw/`) imports only
//! the vocabulary below it, and no core file imports the driver.
//!
//! An import is a `use crate::..`/`use super::..` item (groups expanded) or
//! a `crate::..`/`super::..` path written in code; comments are left out,
//! so intra-doc links do not count. A path is resolved to the deepest
//! module file it names: `crate::driver::reactor::Waiter` is an import of
//! `src/driver/reactor/mod.rs`. A module declaration (`mod x;`) is not an
//! import, but a re-export (`pub use x::Y`) is: a file that imports through
//! its parent's re-exports while that parent imports it is a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What `src/raw/` may import from outside itself.
const RAW_MAY_USE: &[&str] = &[
    "src/error.rs",
    "src/effect.rs",
    "src/options.rs",
    "src/resumed.rs",
    "src/stats.rs",
];

/// A file's module path: `src/driver/reactor/mod.rs` is
/// `["driver", "reactor"]`, `src/lib.rs` is `[]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix("src").expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    if last != "mod.rs" && last != "lib.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts
}

/// The file that defines module `path`, if it is one of `files`.
fn file_of(path: &[String], files: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    let mut base = PathBuf::from("src");
    if path.is_empty() {
        return Some(base.join("lib.rs"));
    }
    for part in &path[..path.len() - 1] {
        base.push(part);
    }
    let last = &path[path.len() - 1];
    [
        base.join(format!("{last}.rs")),
        base.join(last).join("mod.rs"),
    ]
    .into_iter()
    .find(|candidate| files.contains(candidate))
}

/// Removes `//` comments (doc comments included) and the contents of
/// string literals, keeping line structure.
fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let mut in_string = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if c == '\\' {
                    chars.next();
                } else if c == '"' {
                    in_string = false;
                    out.push('"');
                }
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// Expands a use tree such as `a::{b, c::{d, e}}` into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').expect("a closing brace")];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.trim_end_matches("::").to_owned()
            } else {
                format!("{prefix}{p}")
            }
        })
        .collect()
}

/// The byte ranges of the inline modules (`mod name { .. }`) of a
/// stripped source.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("mod ") {
        let at = from + at;
        from = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let after = &code[from..];
        let name_end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if !after[name_end..].trim_start().starts_with('{') {
            continue; // `mod name;`: another file
        }
        let open = from + name_end + after[name_end..].find('{').expect("checked");
        let mut depth = 0;
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        found.push((open, open + i));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// Every `crate::`/`super::` path a stripped source names, each with how
/// many inline modules it is written in.
fn paths_in(code: &str) -> Vec<(usize, String)> {
    let modules = inline_modules(code);
    let depth = |at: usize| modules.iter().filter(|&&(a, b)| a < at && at < b).count();
    let mut paths = Vec::new();
    // `use` items, groups expanded.
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        from = at + 4;
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = code[from..].find(';').map_or(code.len(), |e| from + e);
        let tree: String = code[from..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        paths.extend(expand(&tree).into_iter().map(|p| (depth(at), p)));
        from = end;
    }
    // Paths written in code.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'$'))
            {
                continue;
            }
            if code[..at].ends_with("pub(in ") {
                continue; // a visibility, not an import
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            paths.push((depth(at), code[at..end].trim_end_matches(':').to_owned()));
        }
    }
    paths
}

/// Whether `name` is a module declared in its own file under `module`.
fn is_child(module: &[String], name: &str, files: &BTreeSet<PathBuf>) -> bool {
    let mut path = module.to_vec();
    path.push(name.to_owned());
    file_of(&path, files).is_some()
}

/// The module files a file imports.
fn imports(file: &Path, files: &BTreeSet<PathBuf>) -> BTreeSet<PathBuf> {
    let code = strip(&fs::read_to_string(file).expect("readable source"));
    let here = module_of(file);
    let mut out = BTreeSet::new();
    for (inline_depth, path) in paths_in(&code) {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut module: Vec<String> = match segments.first() {
            Some(&"crate") => {
                segments.remove(0);
                Vec::new()
            }
            Some(&"super") => {
                let mut base = here.clone();
                let mut inline = inline_depth;
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    if inline > 0 {
                        // From an inline module to its parent, in this file.
                        inline -= 1;
                    } else {
                        base.pop();
                    }
                }
                if inline > 0 {
                    continue; // a path into this file's own inline modules
                }
                base
            }
            Some(&"self") => {
                segments.remove(0);
                here.clone()
            }
            // A child module named without `self::` (`use link::Link` in a
            // `mod.rs`); anything else is another crate.
            Some(first) if inline_depth == 0 && is_child(&here, first, files) => here.clone(),
            _ => continue,
        };
        // The deepest module the path names.
        let mut deepest = file_of(&module, files);
        for segment in segments {
            module.push(segment.to_owned());
            match file_of(&module, files) {
                Some(found) => deepest = Some(found),
                None => break,
            }
        }
        if let Some(target) = deepest {
            if target != file {
                out.insert(target);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.insert(path);
        }
    }
}

fn graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate's directory");
    let mut files = BTreeSet::new();
    rust_files(Path::new("src"), &mut files);
    files
        .iter()
        .map(|file| (file.clone(), imports(file, &files)))
        .collect()
}

/// The import loops of `graph`, each as the files it passes through.
fn loops(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    // Tarjan's strongly connected components.
    struct State<'a> {
        graph: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        found: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().expect("on the stack");
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn no_file_of_src_imports_itself_through_a_loop() {
    let graph = graph();
    let found = loops(&graph);
    assert!(
        found.is_empty(),
        "import loops in src/ (each line is one loop; break it by moving the shared \
         items down a layer):\n{}",
        found
            .iter()
            .map(|l| l
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_trusted_core_imports_only_the_vocabulary_below_it() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (file, targets) in &graph {
        if !file.starts_with("src/raw") {
            continue;
        }
        for target in targets {
            let allowed = target.starts_with("src/raw")
                || RAW_MAY_USE.iter().any(|ok| target == Path::new(ok));
            if !allowed {
                wrong.push(format!("{} imports {}", file.display(), target.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "src/raw/ may import only {RAW_MAY_USE:?}:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_core_does_not_import_the_driver() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (file, targets) in &graph {
        if file.starts_with("src/driver") || file == Path::new("src/lib.rs") {
            continue;
        }
        for target in targets.iter().filter(|t| t.starts_with("src/driver")) {
            wrong.push(format!("{} imports {}", file.display(), target.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "core files import the driver:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_and_loops() {
    // The parser, on the shapes the crate uses.
    assert_eq!(
        expand("crate::a::{b, c::{d as e, self}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c"]
    );
    let code = strip(
        "use super::x::Y; // crate::not::this\nlet s = \"crate::nor::this\"; crate::z::f(); \
         $crate::m!(); pub(in crate::v) const C: u8 = 0;",
    );
    let found: Vec<_> = paths_in(&code).into_iter().map(|(_, p)| p).collect();
    assert_eq!(found, ["super::x::Y", "crate::z::f", "super::x::Y"]);
    let nested = strip("mod sealed { impl S for super::P {} }\nsuper::Q;");
    assert_eq!(
        paths_in(&nested),
        [(1, "super::P".to_owned()), (0, "super::Q".to_owned())]
    );
    // A loop is found, and a chain is not one.
    let p = |s: &str| PathBuf::from(s);
    let mut g = BTreeMap::new();
    g.insert(p("a"), BTreeSet::from([p("b")]));
    g.insert(p("b"), BTreeSet::from([p("c")]));
    g.insert(p("c"), BTreeSet::new());
    assert!(loops(&g).is_empty());
    g.insert(p("c"), BTreeSet::from([p("a")]));
    assert_eq!(loops(&g), [vec![p("a"), p("b"), p("c")]]);
}
