use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use tg_audit::AuditEvent;
use tg_core::{EventId, ExportId, Timestamp};
use tg_service::AuditExport;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::streaming::Sink;
use crate::{ApiError, AppState};
use tg_wire::audit::{
    AuditExportDocument, AuditPage, AuditQuery, ExportHead, ExportQuery, Format, GatewayAuditPage,
};

pub(crate) fn routes(r: &mut Routes) {
    r.get("/agents/{id}/audit", audit)
        .get("/agents/{id}/audit/export", export)
        .get("/admin/audit", gateway_audit);
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

/// The agent's audit trail, oldest first, a page at a time.
#[utoipa::path(get, path = "/agents/{id}/audit", tag = "audit", operation_id = "get_audit_trail",
    params(crate::openapi::AgentPath, AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditPage), crate::openapi::Errors))]
async fn audit(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, q) = (id, q.into_inner());
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = state
        .call(move |g| async move { g.audit(&auth.principal, &id, window(&q, after)).await })
        .await?;
    let next_cursor = cursor(&page);
    let Some(agent_id) = page.agent_id else {
        return Err(tg_service::ServiceError::internal("an agent's page without its agent").into());
    };
    Ok(HttpResponse::Ok().json(AuditPage {
        agent_id,
        period_start: page.start,
        period_end: page.end,
        events: page.events,
        next_cursor,
    }))
}

/// The page the query asks for (`after`: its parsed cursor).
fn window(q: &AuditQuery, after: Option<(Timestamp, EventId)>) -> tg_service::AuditWindow<'_> {
    tg_service::AuditWindow {
        start: q.start.as_deref(),
        end: q.end.as_deref(),
        event_type: q.event_type.as_deref(),
        after,
        limit: q.limit,
    }
}

/// The page's `next_cursor`: see [`parse_cursor`].
fn cursor(page: &tg_service::AuditPage) -> Option<String> {
    page.next
        .as_ref()
        .map(|(ts, id)| format!("{}.{id}", ts.as_micros()))
}

/// The gateway's own audit trail (events about no agent: API keys and accounts, policy
/// edits, signing keys), oldest first, a page at a time. Admin only.
#[utoipa::path(get, path = "/admin/audit", tag = "audit", operation_id = "get_gateway_audit_trail",
    params(AuditQuery),
    responses((status = 200, description = "A page of events", body = GatewayAuditPage), crate::openapi::Errors))]
async fn gateway_audit(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = state
        .call(move |g| async move { g.gateway_audit(&auth.principal, window(&q, after)).await })
        .await?;
    Ok(HttpResponse::Ok().json(GatewayAuditPage {
        period_start: page.start,
        period_end: page.end,
        next_cursor: cursor(&page),
        events: page.events,
    }))
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

/// Reads the export page by page and sends it out as it goes: memory stays at one page.
async fn produce(state: AppState, mut export: AuditExport, format: Format, out: Sink) {
    let (start, end) = export.period();
    let export_id = ExportId::generate();
    if format == Format::Json {
        let head = ExportHead {
            format: tg_audit::AUDIT_EXPORT_FORMAT.to_owned(),
            export_id: export_id.clone(),
            generated_at: state.gateway.now(),
            period_start: start,
            period_end: end,
            agent_id: export.agent_id().clone(),
        };
        let head = serde_json::to_string(&head).unwrap_or_default();
        // `{...}` without its closing brace, then the events array.
        if !out
            .send(format!("{},\"events\":[", head.trim_end_matches('}')))
            .await
        {
            return;
        }
    }
    let Some(sent_any) = crate::streaming::pump(&mut export, &out, "audit", |page, first| {
        match format {
            Format::Csv => csv_rows(page, first).map_err(|e| e.to_string()),
            // `AuditEvent`'s own serialisation is the event shape.
            Format::Json => crate::streaming::json_items(page, first).map_err(|e| e.to_string()),
        }
    })
    .await
    else {
        return;
    };
    match format {
        Format::Json => {
            let signed = export
                .finish(export_id.as_str(), state.gateway.now())
                .ok_or_else(|| tg_service::ServiceError::internal("the export was read unsigned"))
                .and_then(|st| {
                    state
                        .gateway
                        .sign_canonical(&st, tg_tokens::Signed::ExportStatement)
                        .map(|sig| (st, sig))
                });
            let (statement, signature) = match signed {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %tg_core::ErrorChain(&e), "audit export signature failed");
                    return out.fail("export failed").await;
                }
            };
            let tail = serde_json::json!({
                "summary": statement.summary,
                "statement": statement,
                "signature": signature,
            })
            .to_string();
            out.send(format!("],{}", tail.trim_start_matches('{')))
                .await;
        }
        Format::Csv if !sent_any => {
            out.send(csv_rows(&[], true).unwrap_or_default()).await;
        }
        Format::Csv => {}
    }
}

/// Joy §5.3: the whole period as one JSON document or CSV, streamed.
#[utoipa::path(get, path = "/agents/{id}/audit/export", tag = "audit", operation_id = "export_audit",
    params(crate::openapi::AgentPath, ExportQuery),
    responses((status = 200, description = "The export, as an attachment",
        content(
            (AuditExportDocument = "application/json"),
            (String = "text/csv", example = "event_id,timestamp,event_type,agent_id,ip_hash,api_key_prefix,details_json"),
        )), crate::openapi::Errors))]
async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, q) = (id, q.into_inner());
    let agent = id.clone();
    let export = state
        .call(move |g| async move {
            g.export_audit(&auth.principal, &id, q.start.as_deref(), q.end.as_deref())
                .await
        })
        .await?;
    let format = q.format;
    // Only the JSON export is signed: CSV skips the per-event digest.
    let export = match format {
        Format::Json => export,
        Format::Csv => export.unsigned(),
    };
    let app = state.get_ref().clone();
    let body = crate::streaming::stream(&state, move |out| produce(app, export, format, out));
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
