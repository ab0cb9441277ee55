use actix_web::{HttpResponse, web};

use crate::auth::Auth;
use crate::ids::PathId;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_core::AccountKind;
use tg_wire::admin::{AccountOut, AccountUpdate, Accounts, KeyOut, Keys, NewAccount, NewKey};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/admin/accounts", create_account)
        .get("/admin/accounts", list_accounts)
        .patch("/admin/accounts/{id}", update_account)
        .post("/admin/accounts/{id}/keys", create_key)
        .get("/admin/accounts/{id}/keys", list_keys)
        .delete("/admin/keys/{key_id}", revoke_key);
}

/// `{id}`: an account id.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
struct AccountPath {
    /// The account's id (`acct_…`).
    id: String,
}

/// Creates an account. Admin only.
#[utoipa::path(post, path = "/admin/accounts", tag = "admin", operation_id = "create_account",
    request_body = NewAccount,
    responses((status = 201, description = "Created", body = AccountOut), crate::openapi::Errors))]
async fn create_account(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let a = state
        .call(move |g| async move {
            g.create_account(&auth.principal, &auth.actor, &b.name, b.plan)
                .await
        })
        .await?;
    Ok(HttpResponse::Created().json(AccountOut::from(&a)))
}

/// Changes an account's plan, and whether its admin keys may lift the operator's
/// suspensions of its agents. The operator only.
#[utoipa::path(patch, path = "/admin/accounts/{id}", tag = "admin", operation_id = "update_account",
    params(AccountPath), request_body = AccountUpdate,
    responses((status = 200, description = "The account", body = AccountOut), crate::openapi::Errors))]
async fn update_account(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<AccountKind>,
    body: crate::dto::Json<AccountUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id, body.into_inner());
    let a = state
        .call(move |g| async move {
            g.update_account(
                &auth.principal,
                &auth.actor,
                &id,
                b.plan,
                b.lifts_operator_suspensions,
            )
            .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(AccountOut::from(&a)))
}

/// Every account. Admin only.
#[utoipa::path(get, path = "/admin/accounts", tag = "admin", operation_id = "list_accounts",
    responses((status = 200, description = "Accounts", body = Accounts), crate::openapi::Errors))]
async fn list_accounts(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let all = state
        .call(move |g| async move { g.list_accounts(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Ok().json(Accounts {
        accounts: all.iter().map(AccountOut::from).collect(),
    }))
}

/// Creates an API key for the account; the answer is the only time the secret is shown.
#[utoipa::path(post, path = "/admin/accounts/{id}/keys", tag = "admin", operation_id = "create_key",
    params(AccountPath), request_body = NewKey,
    responses((status = 201, description = "Created; `key` holds the secret", body = KeyOut), crate::openapi::Errors))]
async fn create_key(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<AccountKind>,
    body: crate::dto::Json<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, scope) = (id, body.into_inner().scope);
    let new = state
        .call(move |g| async move { g.create_key(&auth.principal, &auth.actor, &id, scope).await })
        .await?;
    let mut body = KeyOut::from(&new.key);
    body.key = Some(new.plaintext);
    Ok(HttpResponse::Created().json(body))
}

/// The account's keys (never their secrets).
#[utoipa::path(get, path = "/admin/accounts/{id}/keys", tag = "admin", operation_id = "list_keys",
    params(AccountPath),
    responses((status = 200, description = "Keys", body = Keys), crate::openapi::Errors))]
async fn list_keys(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<AccountKind>,
) -> Result<HttpResponse, ApiError> {
    let keys = state
        .call(move |g| async move { g.list_keys(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(Keys {
        keys: keys.iter().map(KeyOut::from).collect(),
    }))
}

/// Revokes a key at once.
#[utoipa::path(delete, path = "/admin/keys/{key_id}", tag = "admin", operation_id = "revoke_key",
    params(("key_id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked"), crate::openapi::Errors))]
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
