//! Files in chats. `POST /api/v1/chat/uploads` takes the raw bytes of one
//! image (PNG, JPEG, GIF, WebP) or PDF of at most [`MAX_UPLOAD_BYTES`],
//! from the visitor (`?channel=NAME` and the visitor token in
//! `X-Kefu-Visitor`) or the agent (`?contact=ID` and their bearer token),
//! for that conversation. The type comes from the bytes, never from the
//! client's `Content-Type` or name. The file is stored under
//! `DATA_DIR/chat-uploads/` and a message then carries it (`upload`).
//!
//! The widget runs on the customer's site, so the visitor's upload is a
//! cross-origin request: it answers the CORS preflight (`OPTIONS`) and
//! names the page's `Origin` when the channel allows it, like the WebSocket.
//!
//! `GET /api/v1/chat/uploads/{id}?sig=…` serves it: the URL is a
//! capability signed with a server secret, handed only to the
//! conversation's participants in message frames (an `<img>` cannot send
//! headers); any other URL is a 404. Images are served inline, PDFs as
//! attachments, always with `nosniff`.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Chat, identity};
use crate::http::AppState;
use crate::http::auth::{Caller, caller_for};
use crate::http::problem::Problem;
use crate::routing::ContactId;
use crate::store::{ChatUpload, Conversation, Millis, new_id};

/// The largest file accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

/// The folder under the data dir.
const FOLDER: &str = "chat-uploads";

/// Who uploads, for which conversation.
#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    /// The visitor's channel.
    pub channel: Option<String>,
    /// The agent's chat contact.
    pub contact: Option<String>,
}

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub id: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Where the conversation's participants fetch it.
    pub url: String,
}

/// The signature part of a download URL.
#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    pub sig: Option<String>,
}

/// The type of a file by its first bytes, if it is one chats take.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Stores a file for a conversation.
#[utoipa::path(post, path = "/api/v1/chat/uploads", tag = "chat",
    params(("channel" = Option<String>, Query, description = "the visitor's channel (with the X-Kefu-Visitor header)"),
           ("contact" = Option<String>, Query, description = "the agent's chat contact (with a bearer token)")),
    request_body(content = Vec<u8>, description = "the file's bytes: PNG, JPEG, GIF, WebP or PDF, at most 5 MiB"),
    responses((status = 201, body = Uploaded), (status = 401, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let body = body.map_err(|error| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file: {} (at most {MAX_UPLOAD_BYTES} bytes)",
                error.body_text()
            ),
        )
    })?;
    let chat = &state.chat;
    let (conversation, uploader) = uploader(&state, &query, &headers).await?;
    let cors = allowed_origin(&state, &query, &headers).await?;
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the file: at most {MAX_UPLOAD_BYTES} bytes"),
        ));
    }
    let content_type = sniff(&body).ok_or_else(|| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the file: only PNG, JPEG, GIF and WebP images and PDF files are taken",
        )
    })?;
    let id = new_id();
    let relative = format!("{FOLDER}/{}/{id}", conversation.id);
    let path = state.data_dir.join(&relative);
    write(&path, &body).await.map_err(|error| {
        tracing::warn!(path = %path.display(), %error, "cannot store a chat upload");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the file could not be stored; send it again",
        )
    })?;
    let upload = ChatUpload {
        id: id.clone(),
        conversation_id: conversation.id.clone(),
        uploader,
        content_type: content_type.to_owned(),
        size_bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
        path: relative,
        created_at: Millis::now().0,
    };
    chat.store().create_chat_upload(&upload).await?;
    let uploaded = Json(Uploaded {
        url: chat.upload_url(&id),
        id,
        content_type: upload.content_type,
        size_bytes: upload.size_bytes,
    });
    let mut response = (StatusCode::CREATED, uploaded).into_response();
    if let Some(origin) = cors {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    Ok(response)
}

/// The page's `Origin`, to name in CORS headers, when the visitor's channel
/// allows it; refused (403) when it does not.
async fn allowed_origin(
    state: &AppState,
    query: &UploadQuery,
    headers: &HeaderMap,
) -> Result<Option<HeaderValue>, Problem> {
    let (Some(name), Some(origin)) = (&query.channel, headers.get(header::ORIGIN)) else {
        return Ok(None);
    };
    let Some(channel) = state.chat.store().chat_channel_by_name(name).await? else {
        return Err(Problem::not_found(format!("no chat channel `{name}`")));
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let text = origin.to_str().unwrap_or_default();
    if !super::visitor::origin_allowed(&channel, text, host) {
        return Err(Problem::forbidden(format!(
            "Origin `{text}` may not send files on chat channel `{name}`"
        )));
    }
    Ok(Some(origin.clone()))
}

/// Answers the CORS preflight of a visitor's upload.
pub async fn preflight(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let origin = allowed_origin(&state, &query, &headers).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("x-kefu-visitor, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    Ok(response)
}

/// The conversation and uploader a request speaks for.
async fn uploader(
    state: &AppState,
    query: &UploadQuery,
    headers: &HeaderMap,
) -> Result<(Conversation, String), Problem> {
    let chat = &state.chat;
    if let Some(name) = &query.channel {
        let channel = chat
            .store()
            .chat_channel_by_name(name)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no chat channel `{name}`")))?;
        let token = headers
            .get("x-kefu-visitor")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "give the visitor token as `X-Kefu-Visitor`",
                )
            })?;
        let visitor = identity::verify_visitor_token(&channel, token)
            .map_err(|error| Problem::new(StatusCode::UNAUTHORIZED, error.to_string()))?;
        let conversation = chat
            .store()
            .open_conversation_of(&channel.id, &visitor)
            .await?
            .ok_or_else(|| {
                Problem::new(StatusCode::CONFLICT, "start the chat before sending files")
            })?;
        return Ok((conversation, "visitor".to_owned()));
    }
    let Some(contact) = &query.contact else {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "`channel` (visitors) or `contact` (agents): one is needed",
        ));
    };
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "give the agent's token as `Authorization: Bearer`",
            )
        })?;
    let Some(Caller::User {
        tenant_id, user_id, ..
    }) = caller_for(state, secret.trim()).await?
    else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "an agent's token is needed",
        ));
    };
    let conversation = chat
        .store()
        .conversation_of_contact(contact)
        .await?
        .filter(|c| c.tenant_id == tenant_id && c.state == "open")
        .ok_or_else(|| Problem::not_found(format!("no open chat of contact `{contact}`")))?;
    let holder = chat
        .acd()
        .contact(&ContactId(contact.clone()))
        .await?
        .and_then(|live| live.agent_user);
    if holder.as_deref() != Some(user_id.as_str()) {
        return Err(Problem::forbidden(
            "only the chat's agent sends files in it",
        ));
    }
    Ok((conversation, format!("agent:{user_id}")))
}

/// Writes the file whole (a temporary name, then renamed), synced.
async fn write(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let partial = path.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    tokio::fs::rename(&partial, path).await
}

/// Serves a file to whoever holds its signed URL.
#[utoipa::path(get, path = "/api/v1/chat/uploads/{id}", tag = "chat",
    params(("id" = String, Path, description = "upload id"), ("sig" = String, Query, description = "the URL's signature")),
    responses((status = 200, description = "the file"), (status = 404, body = Problem)))]
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Response {
    let missing = || Problem::not_found(format!("no chat file `{id}`")).into_response();
    let chat: &Chat = &state.chat;
    if !query
        .sig
        .as_deref()
        .is_some_and(|sig| chat.upload_signature_valid(&id, sig))
    {
        return missing();
    }
    let Ok(upload) = chat.store().chat_upload(&id).await else {
        return missing();
    };
    let Ok(bytes) = tokio::fs::read(state.data_dir.join(&upload.path)).await else {
        return missing();
    };
    let disposition = if upload.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    (
        [
            (header::CONTENT_TYPE, upload.content_type),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_typed_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        for refused in [
            &b"<svg onload=alert(1)>"[..],
            b"<html>",
            b"MZ\x90\0",
            b"",
            b"RIFF",
        ] {
            assert_eq!(sniff(refused), None);
        }
    }
}
