//! `/admin/signing-keys`: token-signing key rotation (admin).

use actix_web::{HttpResponse, web};
use tg_wire::admin::SigningKeys;

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};

pub(crate) fn routes(r: &mut Routes) {
    r.get("/admin/signing-keys", list)
        .post("/admin/signing-keys", rotate)
        .delete("/admin/signing-keys/{kid}", retire);
}

/// `{kid}`: a signing key's id.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; the handler takes `web::Path<String>`.
struct KidPath {
    /// The key's `kid` (as in the JWKS).
    kid: String,
}

/// The token-signing keys, oldest first, and which one signs now. Admin only.
#[utoipa::path(get, path = "/admin/signing-keys", tag = "admin", operation_id = "list_signing_keys",
    responses((status = 200, description = "The keys", body = SigningKeys), crate::openapi::Errors))]
async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let keys = state
        .call(move |g| async move { g.signing_keys(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Ok().json(SigningKeys::of(&keys)))
}

/// Rotates: adds a new signing key, published at once (JWKS) and signing 120 s later, when
/// every instance has it. Admin only.
#[utoipa::path(post, path = "/admin/signing-keys", tag = "admin", operation_id = "rotate_signing_key",
    responses((status = 201, description = "Every key, the new one last", body = SigningKeys), crate::openapi::Errors))]
async fn rotate(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let keys = state
        .call(move |g| async move { g.rotate_signing_key(&auth.principal, &auth.actor).await })
        .await?;
    Ok(HttpResponse::Created().json(SigningKeys::of(&keys)))
}

/// Retires a key: it leaves the JWKS and the tokens it signed stop verifying. The key that
/// signs now cannot be retired (409). Admin only.
#[utoipa::path(delete, path = "/admin/signing-keys/{kid}", tag = "admin", operation_id = "retire_signing_key",
    params(KidPath),
    responses((status = 200, description = "The keys left", body = SigningKeys), crate::openapi::Errors))]
async fn retire(
    state: web::Data<AppState>,
    auth: Auth,
    kid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let kid = kid.into_inner();
    let keys = state
        .call(move |g| async move {
            g.retire_signing_key(&auth.principal, &auth.actor, &kid)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(SigningKeys::of(&keys)))
}
