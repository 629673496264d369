//! The house rules of `src/`, checked on every run: imports point one way,
//! down the layers of `docs/architecture.md`, so there is no cycle between
//! top-level modules; no circle between files either (a `use super::`, a
//! `use crate::` or an `impl` of another file's type each make an edge).
//! File length is a guideline in `docs/architecture.md` (split by concept),
//! not a rule checked here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules from the floor up. A module may import only modules in
/// a lower layer (or its own); modules sharing a layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["redact", "discord_guard", "permissions"],
    &["config", "error", "db"],
    &["store"],
    &["ui"],
    &["validate", "modules", "interactions_endpoint"],
    &["telemetry"],
    &[
        "broadcast",
        "developer_set",
        "blocked_set",
        "maintenance",
        "alerts",
        "gateway",
    ],
    &["panel"],
    &["reply", "controls"],
    &["access"],
    &["hooks", "events"],
    &["admin", "settings"],
    &["router", "registration"],
    &["lib"],
    &["bot"],
    &["main"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of tests/it/architecture.rs"))
}

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`src/admin/pager.rs` -> `admin`).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// Items `lib.rs` re-exports (`pub use error::{Error, UserError}`), by the module they live in.
fn reexports() -> Vec<(String, String)> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut names = Vec::new();
    for line in lib.lines().filter(|l| l.starts_with("pub fn ")) {
        let name = line["pub fn ".len()..].split(['<', '(']).next().unwrap();
        names.push((name.to_owned(), "lib".to_owned()));
    }
    for line in lib.lines().filter(|l| l.starts_with("pub use ")) {
        let rest = line.trim_start_matches("pub use ").trim_end_matches(';');
        let (module, items) = rest.split_once("::").unwrap();
        for item in items.trim_matches(['{', '}']).split(',') {
            names.push((item.trim().to_owned(), module.to_owned()));
        }
    }
    names
}

/// Every top-level module `text` names through `crate::`.
fn imported_modules(text: &str, reexports: &[(String, String)]) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|part| part.trim().split("::").next().unwrap_or_default())
                .collect()
        } else {
            vec![
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default(),
            ]
        };
        for name in names.into_iter().filter(|n| !n.is_empty()) {
            let module = reexports
                .iter()
                .find(|(item, _)| item == name)
                .map_or(name, |(_, module)| module.as_str());
            found.insert(module.to_owned());
        }
    }
    found
}

#[test]
fn every_import_in_src_points_down_the_layers() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let reexports = reexports();
    let mut upward = Vec::new();
    for file in &files {
        let module = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        for imported in imported_modules(&text, &reexports) {
            // `crate::user_error!` and friends are macros exported at the root.
            if imported == module || imported == "user_error" {
                continue;
            }
            if layer_of(&imported) >= layer_of(&module) {
                upward.push(format!(
                    "{} -> {imported}",
                    file.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up or sideways: {upward:#?}"
    );
}

#[test]
fn the_layer_check_sees_an_upward_import() {
    let reexports = reexports();
    let found = imported_modules(
        "use crate::panel::AdminPanel;\nuse crate::{store, ui::text};",
        &reexports,
    );
    assert_eq!(
        found,
        BTreeSet::from(["panel".into(), "store".into(), "ui".into()])
    );
    assert!(layer_of("panel") > layer_of("store"));
    let via_root = imported_modules("fn f() -> crate::Error { todo!() }", &reexports);
    assert_eq!(via_root, BTreeSet::from(["error".into()]));
}

/// A file's module path: `src/broadcast/worker.rs` -> `["broadcast", "worker"]`,
/// `src/ui/alerts/mod.rs` -> `["ui", "alerts"]`, `src/lib.rs` -> `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// Every path a `use` tree names, with groups expanded:
/// `super::{a::{self, B}, c::D}` -> `super::a`, `super::a::B`, `super::c::D`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    // `a as b` names `a`.
    let mut unaliased = String::new();
    let mut rest = tree;
    while let Some(at) = rest.find(" as ") {
        unaliased.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let end = after.find([',', '}']).unwrap_or(after.len());
        rest = &after[end..];
    }
    unaliased.push_str(rest);
    let tree: String = unaliased.chars().filter(|c| !c.is_whitespace()).collect();
    let (Some(open), Some(close)) = (tree.find('{'), tree.rfind('}')) else {
        return vec![tree.trim_end_matches("::self").to_owned()];
    };
    if close < open {
        return Vec::new();
    }
    let prefix = &tree[..open];
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            if part == "self" {
                vec![prefix.trim_end_matches("::").to_owned()]
            } else {
                expand_use_tree(&format!("{prefix}{part}"))
            }
        })
        .collect()
}

/// The code of `text` without comments, `mod` declarations and re-exports
/// (`pub use`): a module's interface is not a dependency of its logic.
fn dependency_code(text: &str) -> String {
    // A file's unit tests (`mod tests { use super::*; ... }`, last in the
    // file) are the file itself.
    let text = match text.find("mod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("pub use")
                || line.starts_with("pub(crate) use")
                || line.starts_with("pub(super) use")
                || line.starts_with("mod ")
                || line.starts_with("pub mod ")
                || line.starts_with("pub(crate) mod "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The absolute module paths `code` (in module `here`) names: `use` trees,
/// and inline `crate::a::b` and `super::c` paths.
fn named_paths(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut raw = Vec::new();
    // `use` statements start a line (after indentation) and end at `;`.
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(tree) = trimmed.strip_prefix("use ") {
            let start = offset + (line.len() - trimmed.len()) + 4;
            let end = code[start..].find(';').map_or(code.len(), |e| start + e);
            let _ = tree;
            raw.extend(expand_use_tree(&code[start..end]));
        }
        offset += line.len();
    }
    for marker in ["crate::", "super::"] {
        for (at, _) in code.match_indices(marker) {
            // `super::super::x` is read from its first `super`; `$crate`
            // is a macro's.
            let joined = code[..at]
                .chars()
                .last()
                .is_some_and(|c| c == ':' || c == '$' || c.is_alphanumeric() || c == '_');
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            // `super::{...}` is a use tree, read above.
            if !joined && !path.ends_with(':') {
                raw.push(path);
            }
        }
    }
    raw.into_iter()
        .filter_map(|path| {
            let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
            let mut resolved: Vec<String> = match segments.peek().copied() {
                Some("crate") => {
                    segments.next();
                    Vec::new()
                }
                // `super` is the parent of the file's own module, each
                // further `super` one more level up; `self` the module.
                Some("super") => {
                    let mut resolved = here.to_vec();
                    while segments.peek() == Some(&"super") {
                        segments.next();
                        resolved.pop();
                    }
                    resolved
                }
                Some("self") => {
                    segments.next();
                    here.to_vec()
                }
                // Anything else may be a child module (`use account::x` in
                // a `mod.rs`); paths that name no file are dropped later.
                Some(_) => here.to_vec(),
                None => return None,
            };
            resolved.extend(segments.map(str::to_owned));
            Some(resolved)
        })
        .collect()
}

/// The file defining each struct, enum or trait name defined in one file only.
fn type_homes(files: &[PathBuf]) -> std::collections::BTreeMap<String, PathBuf> {
    let mut homes: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for file in files {
        let code = dependency_code(&std::fs::read_to_string(file).unwrap());
        for line in code.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                if matches!(pair[0], "struct" | "enum" | "trait") {
                    let name: String = pair[1]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        homes.entry(name).or_default().push(file.clone());
                    }
                }
            }
        }
    }
    homes
        .into_iter()
        .filter(|(_, files)| files.len() == 1)
        .map(|(name, mut files)| (name, files.remove(0)))
        .collect()
}

/// The types `code` writes `impl` blocks for (`impl X`, `impl<T> Tr for X<T>`).
fn implemented_types(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("impl") else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('<')) {
            continue;
        }
        let target = rest.rsplit(" for ").next().unwrap_or(rest);
        let target = target.split('{').next().unwrap_or_default();
        let target = target.split(" where").next().unwrap_or_default().trim();
        let target = if rest.contains(" for ") {
            target
        } else {
            // `impl<T> X<T>`: skip the generics after `impl`.
            skip_generics(target)
        };
        let name: String = target
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
}

fn skip_generics(text: &str) -> &str {
    let text = text.trim_start();
    if !text.starts_with('<') {
        return text;
    }
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return text[at + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    text
}

/// Edges between files of `src/`: a file names another's module or items
/// (`use crate::`, `use super::`, inline paths), or writes an `impl` for a
/// type another file defines (then that file depends on this one for the
/// type's methods, and this one on it for the type).
fn file_edges() -> std::collections::BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let by_module: std::collections::BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|file| (module_path(file), file.clone()))
        .collect();
    let homes = type_homes(&files);
    let mut edges: std::collections::BTreeMap<PathBuf, BTreeSet<PathBuf>> = Default::default();
    for file in &files {
        let code = dependency_code(&std::fs::read_to_string(file).unwrap());
        let here = module_path(file);
        for path in named_paths(&code, &here) {
            let target = (0..=path.len())
                .rev()
                .find_map(|len| by_module.get(&path[..len]));
            if let Some(target) = target
                && target != file
            {
                edges
                    .entry(file.clone())
                    .or_default()
                    .insert(target.clone());
            }
        }
        for name in implemented_types(&code) {
            if let Some(home) = homes.get(&name)
                && home != file
            {
                edges.entry(home.clone()).or_default().insert(file.clone());
                edges.entry(file.clone()).or_default().insert(home.clone());
            }
        }
    }
    edges
}

/// Groups of files that depend on each other in a circle (strongly
/// connected components of more than one file), each sorted.
fn file_cycles() -> Vec<Vec<String>> {
    let edges = file_edges();
    let nodes: Vec<PathBuf> = edges
        .iter()
        .flat_map(|(from, to)| std::iter::once(from.clone()).chain(to.iter().cloned()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reaches = |from: &PathBuf| -> BTreeSet<PathBuf> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: std::collections::BTreeMap<PathBuf, BTreeSet<PathBuf>> =
        nodes.iter().map(|n| (n.clone(), reaches(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for node in &nodes {
        let mut group: Vec<String> = nodes
            .iter()
            .filter(|other| {
                *other == node || (reach[node].contains(*other) && reach[*other].contains(node))
            })
            .map(|file| file.strip_prefix(src()).unwrap().display().to_string())
            .collect();
        if group.len() > 1 {
            group.sort();
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

#[test]
fn no_circle_between_files() {
    let cycles = file_cycles();
    assert!(
        cycles.is_empty(),
        "files that depend on each other in a circle (break it: a leaf both import, \
         a type the other owns, an answer handed back to the caller): {cycles:#?}"
    );
}

#[test]
fn the_circle_check_sees_use_super_use_crate_and_foreign_impls() {
    let here = vec!["broadcast".to_owned(), "worker".to_owned()];
    let code = dependency_code(
        "use super::{claims::{self, LEASE}, pacing::Pace};\nuse crate::store::broadcasts as b;\n\
         fn f() { crate::ui::text::truncate(); super::super::error::x(); }\n\
         mod tests {\n use super::*; use crate::bot::x;\n}",
    );
    let mut named: Vec<String> = named_paths(&code, &here)
        .into_iter()
        .map(|path| path.join("::"))
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(
        named,
        [
            "broadcast::claims",
            "broadcast::claims::LEASE",
            "broadcast::pacing::Pace",
            "error::x",
            "store::broadcasts",
            "ui::text::truncate",
        ]
    );
    assert_eq!(
        implemented_types("impl BroadcastWorker {\nimpl<T: X> From<T> for Line<T> where T: Y {"),
        ["BroadcastWorker", "Line"]
    );
}
