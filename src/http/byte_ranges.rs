//! Serving an open file with byte ranges (RFC 9110 §14): `Accept-Ranges:
//! bytes`; `206 Partial Content` with `Content-Range` for one satisfiable
//! `Range`; `416` with `Content-Range: bytes */LENGTH` for an unsatisfiable
//! one; the whole file (`200`) without a `Range`, for a malformed one and for
//! several ranges at once (RFC 9110 lets a server ignore a `Range`; there is
//! no `multipart/byteranges` here). The body streams from the file, never
//! loaded whole; the `Range` header is parsed by `http-range-header`.
//! Who may read the file is for the caller to decide.

use std::io::{self, SeekFrom};
use std::ops::RangeInclusive;

use axum::body::Body;
use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_range_header::RangeUnsatisfiableError;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::problem::Problem;

/// Bytes read from the file per chunk of the body.
const CHUNK: usize = 64 * 1024;

/// What part of a file a request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    Whole,
    Part(RangeInclusive<u64>),
    Unsatisfiable,
}

/// The part of a file of `length` bytes that a `Range` header asks for.
fn select(range: Option<&HeaderValue>, length: u64) -> Selection {
    let Some(text) = range.and_then(|value| value.to_str().ok()) else {
        return Selection::Whole;
    };
    let parsed = match http_range_header::parse_range_header(text) {
        Ok(parsed) => parsed,
        Err(RangeUnsatisfiableError::Invalid(_)) => return Selection::Whole,
        Err(_) => return Selection::Unsatisfiable,
    };
    match parsed.validate(length) {
        Ok(ranges) => match <[_; 1]>::try_from(ranges) {
            Ok([part]) => Selection::Part(part),
            Err(_) => Selection::Whole,
        },
        Err(_) => Selection::Unsatisfiable,
    }
}

/// Answers with `file` (`length` bytes long) or the part of it that `range`
/// asks for, adding `headers` (e.g. `Content-Type`) to a `200` or `206`.
pub async fn respond(
    mut file: File,
    length: u64,
    range: Option<&HeaderValue>,
    mut headers: HeaderMap,
) -> io::Result<Response> {
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, count) = match select(range, length) {
        Selection::Whole => (StatusCode::OK, 0, length),
        Selection::Part(part) => {
            let (start, end) = part.into_inner();
            headers.insert(
                CONTENT_RANGE,
                header_value(format!("bytes {start}-{end}/{length}")),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Selection::Unsatisfiable => return Ok(unsatisfiable(length)),
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await?;
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(count));
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(count), CHUNK));
    Ok((status, headers, body).into_response())
}

fn unsatisfiable(length: u64) -> Response {
    let mut response = Problem::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        format!("the Range asks for bytes outside the {length} there are"),
    )
    .into_response();
    let headers = response.headers_mut();
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(CONTENT_RANGE, header_value(format!("bytes */{length}")));
    response
}

fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("digits, spaces and ASCII punctuation make a header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select_text(range: &str, length: u64) -> Selection {
        select(Some(&HeaderValue::from_str(range).unwrap()), length)
    }

    #[test]
    fn no_range_selects_the_whole_file() {
        assert_eq!(select(None, 100), Selection::Whole);
    }

    #[test]
    fn one_range_selects_that_part_clamped_to_the_file() {
        assert_eq!(select_text("bytes=0-43", 100), Selection::Part(0..=43));
        assert_eq!(select_text("bytes=44-", 100), Selection::Part(44..=99));
        assert_eq!(select_text("bytes=-10", 100), Selection::Part(90..=99));
        assert_eq!(select_text("bytes=90-500", 100), Selection::Part(90..=99));
    }

    #[test]
    fn a_range_past_the_end_is_unsatisfiable() {
        assert_eq!(select_text("bytes=100-", 100), Selection::Unsatisfiable);
        assert_eq!(select_text("bytes=500-600", 100), Selection::Unsatisfiable);
        assert_eq!(select_text("bytes=0-", 0), Selection::Unsatisfiable);
    }

    #[test]
    fn malformed_ranges_and_several_ranges_get_the_whole_file() {
        for ignored in [
            "items=0-1",
            "bytes=",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=0-1, 5-6",
        ] {
            assert_eq!(select_text(ignored, 100), Selection::Whole, "{ignored}");
        }
    }
}
