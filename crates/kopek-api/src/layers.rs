//! The dialect folders stand side by side over the core: no API family, nor the
//! hosted pages, the console or the payment callbacks, imports another. What two
//! of them share lives at the crate's root (README, "Layout").

use std::fs;
use std::path::{Path, PathBuf};

const FOLDERS: [&str; 7] = [
    "admin", "aipix", "lifepos", "yandex", "pages", "console", "payments",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The crate's top-level modules a file names through `crate::`, including
/// inside a grouped `use crate::{a::b, c}`.
fn crate_roots(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut roots = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            roots.push(ident(group[start..i].trim()));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            roots.push(ident(group[start..i].trim()));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => roots.push(ident(rest)),
        }
    }
    roots
}

#[test]
fn no_dialect_folder_imports_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut crossings = Vec::new();
    for folder in FOLDERS {
        for file in rust_files(&src.join(folder)) {
            let text = fs::read_to_string(&file).unwrap();
            for root in crate_roots(&text) {
                if root != folder && FOLDERS.contains(&root.as_str()) {
                    crossings.push(format!("{} uses crate::{root}", file.display()));
                }
            }
        }
    }
    assert!(crossings.is_empty(), "{crossings:#?}");
}

#[test]
fn grouped_and_plain_paths_are_both_seen() {
    let text = "use crate::{AppState, admin::x, pages::{a, b}};\nlet v = crate::yandex::wire::f();";
    assert_eq!(
        crate_roots(text),
        ["AppState", "admin", "pages", "yandex"].map(String::from)
    );
}
