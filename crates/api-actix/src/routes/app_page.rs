//! The seat picker at `/app/`: three plain files compiled into the binary, so the page
//! needs no CDN and no build step. It is a client of the public API like any other,
//! public itself, and kept out of the OpenAPI document.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

/// A file of the page, with an entity tag fixed at compile time.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: u64,
}

impl Asset {
    const fn new(body: &'static str, content_type: &'static str) -> Self {
        Self {
            body,
            content_type,
            etag: fnv1a(body.as_bytes()),
        }
    }
}

const INDEX: Asset = Asset::new(
    include_str!("../../static/app/index.html"),
    "text/html; charset=utf-8",
);
const CSS: Asset = Asset::new(
    include_str!("../../static/app/app.css"),
    "text/css; charset=utf-8",
);
const JS: Asset = Asset::new(
    include_str!("../../static/app/app.js"),
    "text/javascript; charset=utf-8",
);

/// Only this origin's files and API; no inline script or style, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn configure(config: &mut web::ServiceConfig) {
    // Resources rather than bare routes, so that another method is a 405, not a 404.
    config
        .service(web::resource("/app").get(to_page))
        .service(web::resource("/app/").get(|req: HttpRequest| async move { serve(&req, &INDEX) }))
        .service(
            web::resource("/app/app.css").get(|req: HttpRequest| async move { serve(&req, &CSS) }),
        )
        .service(
            web::resource("/app/app.js").get(|req: HttpRequest| async move { serve(&req, &JS) }),
        );
}

/// The page's files are relative to `/app/`, so the bare path must not serve it.
async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/app/"))
        .finish()
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let etag = format!("\"{:016x}\"", asset.etag);
    // The names carry no version, so browsers revalidate every time; an unchanged file
    // costs a 304 and no body.
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY));
    if fresh {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

/// FNV-1a: a change of a file changes its tag; no need for a cryptographic hash.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}
