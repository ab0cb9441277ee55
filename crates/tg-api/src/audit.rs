use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tg_audit::AuditEvent;
use tg_core::{EventId, ExportId, Timestamp};
use tg_service::{AuditExport, AuditSummary};
use tokio::sync::mpsc;

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/{id}/audit", web::get().to(audit))
        .route("/agents/{id}/audit/export", web::get().to(export));
}

pub(crate) fn event(e: &AuditEvent) -> Value {
    json!({
        "event_id": e.event_id,
        "timestamp": e.timestamp,
        "event_type": e.event_type,
        "agent_id": e.agent_id,
        "details": e.details,
        "ip_hash": e.ip_hash,
        "api_key_prefix": e.api_key_prefix,
    })
}

fn summary(s: &AuditSummary) -> Value {
    json!({
        "total_events": s.total_events,
        "trust_checks_received": s.trust_checks_received,
        "delegations_received": s.delegations_received,
        "delegations_successful": s.delegations_successful,
        "vouches_received": s.vouches_received,
        "vouches_given": s.vouches_given,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    start: Option<String>,
    end: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[serde(default = "crate::dto::default_page_limit")]
    limit: u32,
    cursor: Option<String>,
}

/// Cursors are `<µs timestamp>.<event id>` of the last event of the previous page.
fn parse_cursor(c: &str) -> Result<(Timestamp, EventId), ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "invalid `cursor`: pass `next_cursor` from the previous page",
        )
    };
    let (ts, id) = c.split_once('.').ok_or_else(bad)?;
    Ok((
        Timestamp::from_micros(ts.parse().map_err(|_| bad())?),
        EventId::parse(id).map_err(|_| bad())?,
    ))
}

async fn audit(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = state
        .call(move |g| async move {
            g.audit(
                &auth.principal,
                &id,
                q.start.as_deref(),
                q.end.as_deref(),
                q.event_type.as_deref(),
                after,
                q.limit,
            )
            .await
        })
        .await?;
    let next = page
        .next
        .as_ref()
        .map(|(ts, id)| format!("{}.{id}", ts.as_micros()));
    Ok(HttpResponse::Ok().json(json!({
        "agent_id": page.agent_id,
        "period_start": page.start,
        "period_end": page.end,
        "events": page.events.iter().map(event).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    Json,
    Csv,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    #[serde(default = "default_format")]
    format: Format,
    start: Option<String>,
    end: Option<String>,
}

fn default_format() -> Format {
    Format::Json
}

/// CSV columns (DESIGN §14).
const CSV_HEADER: [&str; 7] = [
    "event_id",
    "timestamp",
    "event_type",
    "agent_id",
    "ip_hash",
    "api_key_prefix",
    "details_json",
];

fn csv_rows(events: &[AuditEvent], header: bool) -> Result<Bytes, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(CSV_HEADER).map_err(|e| e.to_string())?;
    }
    for e in events {
        let record = [
            e.event_id.to_string(),
            e.timestamp.to_string(),
            e.event_type.as_str().to_owned(),
            e.agent_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            e.ip_hash.clone().unwrap_or_default(),
            e.api_key_prefix.clone().unwrap_or_default(),
            e.details.to_string(),
        ];
        w.write_record(&record).map_err(|e| e.to_string())?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| e.to_string())
}

type Chunk = Result<Bytes, std::io::Error>;

/// Reads the export page by page and sends it out as it goes: memory stays at one page.
async fn produce(mut export: AuditExport, format: Format, tx: mpsc::Sender<Chunk>) {
    let send = |bytes: Bytes| {
        let tx = tx.clone();
        async move { tx.send(Ok(bytes)).await.is_ok() }
    };
    let mut summary_so_far = AuditSummary::default();
    let (start, end) = export.period();
    if format == Format::Json {
        let head = json!({
            "export_id": ExportId::generate(),
            "generated_at": Timestamp::now(),
            "period_start": start,
            "period_end": end,
            "agent_id": export.agent_id(),
        })
        .to_string();
        // `{...}` without its closing brace, then the events array.
        let open = format!("{},\"events\":[", head.trim_end_matches('}'));
        if !send(Bytes::from(open)).await {
            return;
        }
    }
    let mut first = true;
    loop {
        let page = match export.next_page().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(error = %e, "audit export failed mid-stream");
                let _ = tx
                    .send(Err(std::io::Error::other("export interrupted")))
                    .await;
                return;
            }
        };
        page.iter().for_each(|e| summary_so_far.add(e));
        let bytes = match format {
            Format::Csv => match csv_rows(&page, first) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "audit export CSV encoding failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            },
            Format::Json => {
                // `AuditEvent`'s own serialisation is the event shape: no intermediate
                // `Value` per event.
                let mut out = Vec::with_capacity(page.len() * 256);
                for (i, e) in page.iter().enumerate() {
                    if !(first && i == 0) {
                        out.push(b',');
                    }
                    if let Err(err) = serde_json::to_writer(&mut out, e) {
                        tracing::error!(error = %err, "audit export JSON encoding failed");
                        let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                        return;
                    }
                }
                Bytes::from(out)
            }
        };
        first = false;
        if !send(bytes).await {
            return;
        }
    }
    match format {
        Format::Json => {
            let _ = send(Bytes::from(format!(
                "],\"summary\":{}}}",
                summary(&summary_so_far)
            )))
            .await;
        }
        Format::Csv if first => {
            let _ = send(csv_rows(&[], true).unwrap_or_default()).await;
        }
        Format::Csv => {}
    }
}

async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let agent = id.clone();
    let export = state
        .call(move |g| async move {
            g.export_audit(&auth.principal, &id, q.start.as_deref(), q.end.as_deref())
                .await
        })
        .await?;
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    state.spawn(produce(export, q.format, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let (content_type, ext) = match q.format {
        Format::Json => ("application/json", "json"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"audit-{agent}.{ext}\""),
        ))
        .streaming(body))
}
