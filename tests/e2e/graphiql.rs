//! GraphiQL comes from the server itself: every URL the page and its start-up script
//! load is same-origin, every asset is served with its type and matches the pinned
//! file recorded in api/assets/graphiql/MANIFEST.json.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;

const MANIFEST: &str = include_str!("../../api/assets/graphiql/MANIFEST.json");

/// Every value of a `name="…"` (or `name='…'`) attribute in `html`.
fn attribute_values(html: &str, name: &str) -> Vec<String> {
    let mut values = Vec::new();
    for quote in ['"', '\''] {
        let opening = format!("{name}={quote}");
        let mut rest = html;
        while let Some(start) = rest.find(&opening) {
            rest = &rest[start + opening.len()..];
            let end = rest.find(quote).expect("a closed attribute");
            values.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    values
}

fn is_same_origin(url: &str) -> bool {
    url.starts_with('/') && !url.starts_with("//") && !url.contains("://")
}

/// The manifest's sha256 of a vendored file, if the manifest lists it.
fn pinned_sha256(file: &str) -> Option<String> {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("MANIFEST.json is JSON");
    manifest["files"].as_array()?.iter().find(|f| f["file"] == file).map(|f| f["sha256"].as_str().unwrap().to_string())
}

async fn page(app: &TestApp) -> reqwest::Response {
    app.client.get(app.graphql_url()).header("Accept", "text/html").send().await.unwrap()
}

#[tokio::test]
async fn the_page_loads_nothing_from_another_origin() {
    let app = spawn_app().await;

    let response = page(&app).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("script-src 'self';"), "scripts only from this origin, none inline: {policy}");
    let html = response.text().await.unwrap();
    let urls: Vec<String> = ["src", "href", "data-endpoint"].iter().flat_map(|n| attribute_values(&html, n)).collect();
    assert!(urls.len() >= 6, "the page loads its icon, stylesheet and scripts: {urls:?}");
    for url in &urls {
        assert!(is_same_origin(url), "{url} is not same-origin");
    }
    assert_eq!(html.matches("<script").count(), attribute_values(&html, "src").len(), "no inline script");
    assert!(!html.contains("unpkg") && !html.contains("cdn"), "no CDN left in the page");
}

#[tokio::test]
async fn every_asset_is_served_with_its_type_and_pinned_content() {
    let app = spawn_app().await;
    let html = page(&app).await.text().await.unwrap();
    let assets: Vec<String> = ["src", "href"].iter().flat_map(|n| attribute_values(&html, n)).collect();

    let mut vendored = 0;
    for url in &assets {
        let response = app.client.get(format!("{}{url}", app.address)).send().await.unwrap();

        assert_eq!(response.status(), 200, "{url}");
        let expected_type = match url.rsplit('.').next() {
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            _ => "text/javascript; charset=utf-8",
        };
        assert_eq!(response.headers()["content-type"], expected_type, "{url}");
        let cache_control = response.headers()["cache-control"].to_str().unwrap().to_string();
        let body = response.bytes().await.unwrap();
        let file = url.rsplit('/').next().unwrap();
        match pinned_sha256(file) {
            Some(pinned) => {
                vendored += 1;
                assert_eq!(format!("{:x}", Sha256::digest(&body)), pinned, "{url} differs from its manifest entry");
                assert!(cache_control.contains("immutable"), "{url}: versioned, cached for good: {cache_control}");
            }
            None => {
                assert_eq!(cache_control, "no-cache", "{url}: Accord's own, changes with the binary under one name");
            }
        }
    }
    let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
    let served_in_manifest = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str().is_some_and(|n| n.ends_with(".js") || n.ends_with(".css")))
        .count();
    assert_eq!(vendored, served_in_manifest, "the page loads every vendored asset: {assets:?}");
}

#[tokio::test]
async fn accords_start_up_script_reaches_no_other_origin() {
    let app = spawn_app().await;
    let html = page(&app).await.text().await.unwrap();
    let own_scripts: Vec<String> = attribute_values(&html, "src")
        .into_iter()
        .filter(|url| pinned_sha256(url.rsplit('/').next().unwrap()).is_none())
        .collect();
    assert_eq!(own_scripts.len(), 1, "one script of Accord's own: {own_scripts:?}");

    let script =
        app.client.get(format!("{}{}", app.address, own_scripts[0])).send().await.unwrap().text().await.unwrap();

    // The endpoint comes from the page (`data-endpoint`, checked above): no URL of its own.
    for external in ["://", "\"//", "'//", "`//", "import(", "importScripts", "new Worker"] {
        assert!(!script.contains(external), "the start-up script contains `{external}`");
    }
    assert!(script.contains("data-endpoint"), "the script takes its endpoint from the page");
}

#[tokio::test]
async fn an_unknown_asset_is_not_found() {
    let app = spawn_app().await;

    for path in ["/graphiql/x.js", "/graphiql/MANIFEST.json", "/graphiql/..%2FCargo.toml"] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();

        assert_eq!(response.status(), 404, "{path}");
    }
}
