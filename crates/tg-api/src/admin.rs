use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tg_access::{Account, ApiKey, Plan, Scope};

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/accounts", web::post().to(create_account))
        .route("/admin/accounts", web::get().to(list_accounts))
        .route("/admin/accounts/{id}/keys", web::post().to(create_key))
        .route("/admin/accounts/{id}/keys", web::get().to(list_keys))
        .route("/admin/keys/{key_id}", web::delete().to(revoke_key));
}

fn account(a: &Account) -> serde_json::Value {
    json!({"id": a.id, "name": a.name, "plan": a.plan, "created_at": a.created_at})
}

fn key(k: &ApiKey) -> serde_json::Value {
    json!({"id": k.id, "prefix": k.prefix, "account_id": k.account_id, "scope": k.scope, "created_at": k.created_at, "revoked_at": k.revoked_at})
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    plan: Plan,
}

async fn create_account(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let a = state
        .call(move |g| async move {
            g.create_account(&auth.principal, &auth.actor, &b.name, b.plan)
                .await
        })
        .await?;
    Ok(HttpResponse::Created().json(account(&a)))
}

async fn list_accounts(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let all = state
        .call(move |g| async move { g.list_accounts(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"accounts": all.iter().map(account).collect::<Vec<_>>()})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    scope: Scope,
}

async fn create_key(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, scope) = (id.into_inner(), body.into_inner().scope);
    let new = state
        .call(move |g| async move { g.create_key(&auth.principal, &auth.actor, &id, scope).await })
        .await?;
    let mut body = key(&new.key);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("key".into(), json!(new.plaintext));
    }
    Ok(HttpResponse::Created().json(body))
}

async fn list_keys(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let keys = state
        .call(move |g| async move { g.list_keys(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"keys": keys.iter().map(key).collect::<Vec<_>>()})))
}

async fn revoke_key(
    state: web::Data<AppState>,
    auth: Auth,
    key_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key_id = key_id.into_inner();
    state
        .call(move |g| async move { g.revoke_key(&auth.principal, &auth.actor, &key_id).await })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
