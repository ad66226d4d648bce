//! The admin API token's life: generated on first start when none is
//! configured (only its hash is stored; the secret is printed once), and reset
//! on request with `kefu admin-token --reset`.

use crate::store::{IssuedToken, Scope, Store, StoreError};

const NAME: &str = "admin";

/// Issues the admin token if none is configured and none exists yet. Returns
/// the new token, which the caller prints: it is the only time it is known.
pub async fn ensure(store: &Store, configured: bool) -> Result<Option<IssuedToken>, StoreError> {
    if configured || store.has_admin_token().await? {
        return Ok(None);
    }
    store
        .issue_token(NAME, Scope::Admin, None, None)
        .await
        .map(Some)
}

/// Revokes every stored admin token and issues a new one.
pub async fn reset(store: &Store) -> Result<IssuedToken, StoreError> {
    store.revoke_tokens(NAME, Scope::Admin).await?;
    store.issue_token(NAME, Scope::Admin, None, None).await
}

/// The lines that show a new admin token to the operator.
pub fn announcement(token: &IssuedToken) -> String {
    format!(
        "kefu: new admin API token (shown only this once; store it now):\n    {}\n  \
         use it as `Authorization: Bearer <token>`; replace it with `kefu admin-token --reset`\n",
        token.secret
    )
}
