//! `/dashboard`: the live dashboard page. Every asset is compiled into the binary (no CDN,
//! works offline) and served under a strict Content-Security-Policy: scripts and styles
//! from this origin only, no inline code, connections to this origin only.

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentType};

use crate::routes::Routes;

const INDEX: &str = include_str!("../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../assets/dashboard/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard/dashboard.css");

/// The page's paths; public (the page signs in with a key the user types).
pub(crate) const PATHS: [&str; 3] = [
    "/dashboard",
    "/dashboard/dashboard.js",
    "/dashboard/dashboard.css",
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

pub(crate) fn routes(r: &mut Routes) {
    let [page, js, css] = PATHS;
    r.public()
        .get(page, index)
        .public()
        .get(js, script)
        .public()
        .get(css, style);
}

/// The live dashboard page (sign in with a key; it connects to `/ws/dashboard`).
#[utoipa::path(get, path = "/dashboard", tag = "live", operation_id = "dashboard_page", security(()),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

/// The dashboard's script.
#[utoipa::path(get, path = "/dashboard/dashboard.js", tag = "live", operation_id = "dashboard_script", security(()),
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The dashboard's stylesheet.
#[utoipa::path(get, path = "/dashboard/dashboard.css", tag = "live", operation_id = "dashboard_style", security(()),
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)))]
async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}
