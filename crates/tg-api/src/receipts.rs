use actix_web::{HttpResponse, web};
use tg_service::RecordAction;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::streaming::Sink;
use crate::{ApiError, AppState, dto};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tg_wire::receipts::{
    ListQuery, NEXT_BEFORE_SEQ_HEADER, ReceiptExportDocument, ReceiptLogProofOut, ReceiptOut,
    Recorded,
};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/actions/record", record)
        .get("/receipts/{agent_id}", list)
        .get("/receipts/{agent_id}/verify", verify)
        .get("/receipts/{agent_id}/export", export);
}

/// `{agent_id}`: an agent id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
struct ReceiptsPath {
    /// The agent's id (`ag_…`).
    agent_id: String,
}

/// Records one action as a signed receipt on the agent's chain and rescores it. The agent's
/// own account reports without a token (`provenance: self`); another account reports as a
/// witness with the agent's gateway token (`provenance: witnessed`), at most
/// 10 reports per token and witness.
#[utoipa::path(post, path = "/actions/record", tag = "receipts", operation_id = "record_action",
    request_body = dto::RecordRequest,
    responses((status = 201, description = "Recorded", body = Recorded), crate::openapi::Errors))]
async fn record(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<dto::RecordRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    crate::request_id::record_agent(&b.agent_id, None);
    let req = RecordAction {
        agent_id: crate::ids::agent(&b.agent_id)?,
        action: b.action,
        result: b.result,
        reported_at: b.timestamp,
        token: b.token,
    };
    let r = state
        .call(move |g| async move { g.record_action(&auth.principal, &auth.actor, req).await })
        .await?;
    let after = &r.view.breakdown;
    Ok(HttpResponse::Created().json(Recorded::new(
        r.receipt,
        (r.old_score, r.old_tier),
        (after.composite, after.tier),
        after.tier_name.clone(),
        r.view.state.version,
    )))
}

/// The agent's receipts, newest first, as a list (V2's shape). Page with `limit` and
/// `before_seq`: when more remain, `X-Next-Before-Seq` names the next page's `before_seq`
/// and `Link` (`rel="next"`) its URL.
#[utoipa::path(get, path = "/receipts/{agent_id}", tag = "receipts", operation_id = "list_receipts",
    params(ReceiptsPath, ListQuery),
    responses((status = 200, description = "Receipts", body = Vec<ReceiptOut>,
        headers(
            ("x-next-before-seq" = u64, description = "`before_seq` of the next page; absent on the last"),
            ("link" = String, description = "RFC 8288 `<…>; rel=\"next\"`; absent on the last page"))),
        crate::openapi::Errors))]
async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (agent, limit, before) = (id.clone(), q.limit, q.before_seq);
    if before.is_some_and(|b| i64::try_from(b).is_err()) {
        return Err(tg_service::ServiceError::Invalid(format!(
            "`before_seq` must be at most {}",
            i64::MAX
        ))
        .into());
    }
    let receipts = state
        .call(move |g| async move { g.receipts(&auth.principal, &agent, limit, before).await })
        .await?;
    let next = receipts
        .last()
        .filter(|_| receipts.len() == q.limit as usize)
        .map(|r| r.seq);
    let mut answer = HttpResponse::Ok();
    if let Some(next) = next {
        // The id was found, so it is an `ag_…` id: safe in a URL as it is.
        let link = format!(
            "</receipts/{}?limit={}&before_seq={next}>; rel=\"next\"",
            id.as_str(),
            q.limit
        );
        answer
            .insert_header((NEXT_BEFORE_SEQ_HEADER, next.to_string()))
            .insert_header(("link", link));
    }
    let body: Vec<ReceiptOut> = receipts.into_iter().map(ReceiptOut::from).collect();
    Ok(answer.json(body))
}

/// Verifies the agent's whole chain: every hash link and signature, and the stored head.
#[utoipa::path(get, path = "/receipts/{agent_id}/verify", tag = "receipts", operation_id = "verify_receipt_chain",
    params(ReceiptsPath),
    responses((status = 200, description = "The verdict (`valid: false` names the first broken receipt)", body = tg_receipts::ChainReport),
        crate::openapi::Errors))]
async fn verify(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let report = state
        .call(move |g| async move { g.verify_chain(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Streams the export: receipts as they verify, then the signed statement (or the error).
async fn produce(state: AppState, mut export: tg_service::ReceiptExport, out: Sink) {
    let open = serde_json::json!({"format": tg_receipts::RECEIPT_EXPORT_FORMAT, "agent_id": export.agent_id()});
    let open = open.to_string();
    if !out
        .send(format!("{},\"receipts\":[", open.trim_end_matches('}')))
        .await
    {
        return;
    }
    let pumped = crate::streaming::pump(&mut export, &out, "receipts", |page, first| {
        crate::streaming::json_items(page, first).map_err(|e| e.to_string())
    })
    .await;
    if pumped.is_none() {
        return;
    }
    let statement = match export.finish(state.gateway.now()) {
        Ok(statement) => statement,
        Err(report) => {
            let tail = serde_json::json!({"statement": null, "signature": null, "error": report});
            let tail = tail.to_string();
            out.send(format!("],{}", tail.trim_start_matches('{')))
                .await;
            return;
        }
    };
    let signature = match state
        .gateway
        .sign_canonical(&statement, tg_tokens::Signed::ExportStatement)
    {
        Ok(signature) => signature,
        Err(e) => {
            tracing::error!(error = %tg_core::ErrorChain(&e), "receipt export signature failed");
            return out.fail("export failed").await;
        }
    };
    let signed = serde_json::json!({"statement": statement, "signature": signature}).to_string();
    // The members only: the document stays open for the log section.
    let members = signed
        .strip_prefix('{')
        .and_then(|m| m.strip_suffix('}'))
        .unwrap_or_default();
    if !out.send(format!("],{members}")).await {
        return;
    }
    // The log section: one checkpoint, then each receipt's inclusion proof, page by page.
    let checkpoint = match export.begin_log().await {
        Ok(Some(note)) => note,
        Ok(None) => {
            out.send("}").await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %tg_core::ErrorChain(&e), "receipt export: the log's checkpoint");
            return out.fail("export failed").await;
        }
    };
    let open = format!(
        ",\"log\":{{\"checkpoint\":{},\"proofs\":[",
        serde_json::Value::String(checkpoint)
    );
    if !out.send(open).await {
        return;
    }
    let mut proofs = crate::streaming::LogProofs(&mut export);
    // A page may hold no proof (receipts newer than the checkpoint): commas follow items.
    let mut emitted = false;
    let pumped = crate::streaming::pump(&mut proofs, &out, "receipt proofs", |page, _| {
        let first = !emitted;
        emitted |= !page.is_empty();
        let page: Vec<ReceiptLogProofOut> = page
            .iter()
            .map(|p| ReceiptLogProofOut {
                seq: p.seq,
                leaf_index: p.leaf_index,
                hashes: p.hashes.iter().map(|h| B64.encode(h)).collect(),
            })
            .collect();
        crate::streaming::json_items(&page, first).map_err(|e| e.to_string())
    })
    .await;
    if pumped.is_some() {
        out.send("]}}").await;
    }
}

/// The agent's whole chain as a file anyone can check offline (`trust-gateway
/// verify-export FILE --jwks JWKS`): verified by the gateway as it is read, then a
/// signed statement of its length and head hash, whose hash links cover every receipt.
#[utoipa::path(get, path = "/receipts/{agent_id}/export", tag = "receipts", operation_id = "export_receipts",
    params(ReceiptsPath),
    responses((status = 200, description = "The export, as an attachment", body = ReceiptExportDocument),
        crate::openapi::Errors))]
async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let export = state
        .call(move |g| async move { g.export_receipts(&auth.principal, &id).await })
        .await?;
    let file = format!("receipts-{}.json", export.agent_id());
    let app = state.get_ref().clone();
    let body = crate::streaming::stream(&state, move |out| produce(app, export, out));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(body))
}
