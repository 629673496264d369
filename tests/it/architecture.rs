//! The house rules of `src/`, checked on every run: imports point one way,
//! down the layers `../shared/DESIGN.md` draws, so there is no cycle between
//! top-level modules; and no source file grows past 400 lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules from the floor up. A module may import only modules in
/// a lower layer (or its own); modules sharing a layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["redact", "discord_guard"],
    &["config", "error", "db"],
    &["store"],
    &["ui"],
    &["validate", "modules", "interactions_endpoint"],
    &["telemetry"],
    &["broadcast", "developer_set", "alerts", "gateway"],
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

const MAX_LINES: usize = 400;

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
fn no_source_file_is_longer_than_400_lines() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:#?}");
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
