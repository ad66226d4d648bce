//! Who a visitor is. An anonymous visitor gets a token kefu signs with the
//! channel's visitor key (HMAC-SHA256) and shows it again on every
//! connection, so a reload or a restart finds the same conversation; a site
//! that knows its customer passes a JWT (HS256) it signs with the channel's
//! identity key, naming the customer in `sub` — the verified identity.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::Sha256;

use crate::store::ChatChannel;

/// The longest customer id a JWT may name.
const MAX_CUSTOMER_ID: usize = 200;

/// A customer the site vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCustomer {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    name: Option<String>,
    email: Option<String>,
}

/// Why an identity was refused; the text is shown to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("`token`: not a visitor token of this channel")]
    BadToken,
    #[error("`identity`: this channel takes no identity tokens")]
    NoIdentityKey,
    #[error("`identity`: {0}")]
    BadIdentity(String),
}

fn mac(channel: &ChatChannel, visitor_id: &str) -> Hmac<Sha256> {
    let key = hex::decode(&channel.visitor_key).unwrap_or_default();
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"kefu-chat-visitor-v1.");
    mac.update(channel.id.as_bytes());
    mac.update(b".");
    mac.update(visitor_id.as_bytes());
    mac
}

/// The token that proves `visitor_id` on this channel.
pub fn visitor_token(channel: &ChatChannel, visitor_id: &str) -> String {
    let tag = mac(channel, visitor_id).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(visitor_id),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The visitor id a token proves, if kefu signed it for this channel.
pub fn verify_visitor_token(channel: &ChatChannel, token: &str) -> Result<String, IdentityError> {
    let (id, tag) = token.split_once('.').ok_or(IdentityError::BadToken)?;
    let id = URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(IdentityError::BadToken)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| IdentityError::BadToken)?;
    mac(channel, &id)
        .verify_slice(&tag)
        .map_err(|_| IdentityError::BadToken)?;
    Ok(id)
}

/// The customer a site-signed JWT names (HS256, `exp` required).
pub fn verify_identity(
    channel: &ChatChannel,
    jwt: &str,
) -> Result<VerifiedCustomer, IdentityError> {
    let key = channel
        .identity_key
        .as_deref()
        .ok_or(IdentityError::NoIdentityKey)?;
    let claims = jsonwebtoken::decode::<Claims>(
        jwt,
        &DecodingKey::from_secret(key.as_bytes()),
        &Validation::new(Algorithm::HS256),
    )
    .map_err(|error| IdentityError::BadIdentity(error.to_string()))?
    .claims;
    if claims.sub.is_empty() || claims.sub.len() > MAX_CUSTOMER_ID {
        return Err(IdentityError::BadIdentity(format!(
            "`sub` must be 1 to {MAX_CUSTOMER_ID} characters"
        )));
    }
    let short = |value: Option<String>| value.map(|v| v.chars().take(200).collect());
    Ok(VerifiedCustomer {
        id: claims.sub,
        name: short(claims.name),
        email: short(claims.email),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    fn channel(identity_key: Option<&str>) -> ChatChannel {
        ChatChannel {
            id: "ch1".to_owned(),
            tenant_id: "t".to_owned(),
            name: "web".to_owned(),
            queues: "support".to_owned(),
            allowed_origins: String::new(),
            visitor_key: "00112233445566778899aabbccddeeff".to_owned(),
            identity_key: identity_key.map(str::to_owned),
            created_at: 0,
        }
    }

    #[test]
    fn a_visitor_token_proves_its_visitor_on_its_channel_only() {
        let web = channel(None);
        let token = visitor_token(&web, "v-42");
        assert_eq!(verify_visitor_token(&web, &token), Ok("v-42".to_owned()));
        let other = ChatChannel {
            id: "ch2".to_owned(),
            ..channel(None)
        };
        assert_eq!(
            verify_visitor_token(&other, &token),
            Err(IdentityError::BadToken)
        );
        let (_, tag) = token.split_once('.').expect("two parts");
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("v-43"));
        assert_eq!(
            verify_visitor_token(&web, &forged),
            Err(IdentityError::BadToken)
        );
        for junk in ["", ".", "a.b", "%%%.%%%", "v1"] {
            assert_eq!(
                verify_visitor_token(&web, junk),
                Err(IdentityError::BadToken)
            );
        }
    }

    #[test]
    fn an_identity_jwt_must_be_signed_with_the_channel_key_and_unexpired() {
        let web = channel(Some("site-secret"));
        let sign = |key: &str, exp: i64| {
            jsonwebtoken::encode(
                &Header::default(),
                &serde_json::json!({"sub": "cust-7", "name": "Ann", "exp": exp}),
                &EncodingKey::from_secret(key.as_bytes()),
            )
            .expect("signed")
        };
        let later = crate::store::Millis::now().0 / 1000 + 600;
        let customer = verify_identity(&web, &sign("site-secret", later)).expect("valid");
        assert_eq!(
            (customer.id.as_str(), customer.name.as_deref()),
            ("cust-7", Some("Ann"))
        );
        assert!(verify_identity(&web, &sign("wrong", later)).is_err());
        assert!(verify_identity(&web, &sign("site-secret", 1000)).is_err());
        assert_eq!(
            verify_identity(&channel(None), &sign("site-secret", later)),
            Err(IdentityError::NoIdentityKey)
        );
    }
}
