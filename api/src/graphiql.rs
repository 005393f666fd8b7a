//! GraphiQL, served from the binary: the page browsers get on `GET /graphql` and its
//! assets under `/graphiql/`, all same-origin, so it works offline and under a strict
//! Content-Security-Policy. The vendored files are pinned npm releases, each listed with
//! its package, version and sha256 in `api/assets/graphiql/MANIFEST.json`;
//! `scripts/vendor-graphiql.sh` refreshes them.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The path under which [`asset`] serves the files of [`ASSETS`].
pub const ASSET_PREFIX: &str = "/graphiql/";

/// What the page may load: only this origin, and `data:` images and fonts, which the
/// GraphiQL stylesheet inlines. Inline styles are allowed because GraphiQL's dialogs
/// insert `<style>` elements; inline scripts are not.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
/// Vendored file names carry their version, so a browser may keep them for good.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Accord's own files change with the binary under the same name.
const REVALIDATE: &str = "no-cache";

/// One file under [`ASSET_PREFIX`].
pub struct Asset {
    /// The file name, after [`ASSET_PREFIX`].
    pub name: &'static str,
    pub content_type: &'static str,
    cache_control: &'static str,
    body: &'static [u8],
}

/// Every file the page loads, in the order the page loads them (icon and stylesheet
/// first, then React, GraphiQL, and Accord's start-up script, which needs the three
/// before it).
pub static ASSETS: &[Asset] = &[
    Asset {
        name: "accord-graphiql.svg",
        content_type: SVG,
        cache_control: REVALIDATE,
        body: include_bytes!("../assets/accord-graphiql.svg"),
    },
    Asset {
        name: "graphiql-4.1.2.min.css",
        content_type: CSS,
        cache_control: FOREVER,
        body: include_bytes!("../assets/graphiql/graphiql-4.1.2.min.css"),
    },
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        cache_control: FOREVER,
        body: include_bytes!("../assets/graphiql/react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: JAVASCRIPT,
        cache_control: FOREVER,
        body: include_bytes!("../assets/graphiql/react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "graphiql-4.1.2.min.js",
        content_type: JAVASCRIPT,
        cache_control: FOREVER,
        body: include_bytes!("../assets/graphiql/graphiql-4.1.2.min.js"),
    },
    Asset {
        name: "accord-graphiql.js",
        content_type: JAVASCRIPT,
        cache_control: REVALIDATE,
        body: include_bytes!("../assets/accord-graphiql.js"),
    },
];

/// The page, built once from [`ASSETS`] so a file name lives in one place.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut tags = String::new();
    for asset in ASSETS {
        let url = format!("{ASSET_PREFIX}{}", asset.name);
        let tag = match asset.content_type {
            // An icon of our own, or the browser asks for /favicon.ico and gets a 404.
            SVG => format!("  <link rel=\"icon\" type=\"{SVG}\" href=\"{url}\">\n"),
            CSS => format!("  <link rel=\"stylesheet\" href=\"{url}\">\n"),
            _ => format!("  <script src=\"{url}\" defer></script>\n"),
        };
        tags.push_str(&tag);
    }
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
  <meta charset=\"utf-8\">
  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
  <title>Accord GraphiQL</title>
{tags}</head>
<body>
  <div id=\"graphiql\" data-endpoint=\"/graphql\">Loading GraphiQL…</div>
  <noscript>GraphiQL needs JavaScript. Without it, POST queries to /graphql.</noscript>
</body>
</html>
"
    )
});

/// The GraphiQL page, with its Content-Security-Policy.
pub fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// `GET /graphiql/{file}`: one of [`ASSETS`], or 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(asset.cache_control));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
