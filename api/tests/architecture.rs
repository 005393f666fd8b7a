//! The module order written in docs/architecture.md holds in the code: every
//! `crate::<module>` path in a file points at its own module or one above it in the
//! list, and no file outside the GraphQL layer names a `graphql` path.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

const ORDER_START: &str = "<!-- module order: read by api/tests/architecture.rs -->";
const ORDER_END: &str = "<!-- end of module order -->";

/// Each top-level module of `api/src` and its rank in the documented order.
fn documented_order() -> HashMap<String, usize> {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md"))
        .expect("read docs/architecture.md");
    let start = doc.find(ORDER_START).expect("docs/architecture.md marks the start of the module order");
    let end = doc.find(ORDER_END).expect("docs/architecture.md marks the end of the module order");
    let item = Regex::new(r"^\d+\. (.*?): ").unwrap();
    let name = Regex::new(r"`([a-z_]+)`").unwrap();
    let mut order = HashMap::new();
    for (rank, line) in doc[start..end].lines().filter_map(|l| item.captures(l)).enumerate() {
        for module in name.captures_iter(&line[1]) {
            order.insert(module[1].to_string(), rank);
        }
    }
    order
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read api/src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments: doc links may name any module.
fn code_of(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every module a file names through `crate::`, including `crate::{a, b::c}` groups.
fn modules_named(code: &str) -> Vec<String> {
    let path = Regex::new(r"crate::([a-z_]+)").unwrap();
    let group = Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let first = Regex::new(r"(?:^|,)\s*([a-z_]+)").unwrap();
    let mut names: Vec<String> = path.captures_iter(code).map(|c| c[1].to_string()).collect();
    for g in group.captures_iter(code) {
        names.extend(first.captures_iter(&g[1]).map(|c| c[1].to_string()));
    }
    names
}

/// Files of the GraphQL layer: `graphql.rs`, anything under a `graphql/` directory.
fn in_graphql_layer(relative: &Path) -> bool {
    relative.components().any(|c| c.as_os_str() == "graphql" || c.as_os_str() == "graphql.rs")
}

#[test]
fn modules_use_only_modules_above_them_in_the_documented_order() {
    let order = documented_order();
    assert!(order.len() > 15, "the documented order lists every module: {order:?}");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let graphql_path = Regex::new(r"\bgraphql::|::graphql\b").unwrap();
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().to_path_buf();
        let first =
            relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if first == "lib" || first == "main" {
            continue;
        }
        let rank = *order.get(&first).unwrap_or_else(|| {
            panic!("{first} (api/src/{}) is missing from docs/architecture.md's order", relative.display())
        });
        let code = code_of(&fs::read_to_string(&file).unwrap());
        let wiring = rank == order["graphql"];
        if !wiring && !in_graphql_layer(&relative) {
            for module in modules_named(&code) {
                match order.get(&module) {
                    Some(&to) if to > rank => violations
                        .push(format!("api/src/{} uses `{module}`, which comes after `{first}`", relative.display())),
                    None => violations.push(format!(
                        "api/src/{} uses `crate::{module}`, which is not in the order",
                        relative.display()
                    )),
                    _ => {}
                }
            }
            if graphql_path.is_match(&code) {
                violations.push(format!(
                    "api/src/{} is outside the GraphQL layer but names a `graphql` path",
                    relative.display()
                ));
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(violations.is_empty(), "edges against docs/architecture.md's order:\n{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_grouped_imports_and_skips_comments() {
    let code = code_of("use crate::{auth::Actor, leads};\n/// see [`crate::kpi`]\nlet x = crate::scoring::f();");
    assert_eq!(modules_named(&code), ["scoring", "auth", "leads"]);
    assert!(in_graphql_layer(Path::new("leads/graphql/accounts.rs")));
    assert!(!in_graphql_layer(Path::new("leads/accounts.rs")));
}
