//! Cutting a SIP byte stream (TCP, TLS) into messages by `Content-Length`
//! (RFC 3261 §18.3), within limits: the header section may not exceed
//! [`MAX_HEADER_SECTION`] and a whole message [`MAX_MESSAGE_SIZE`]. Bytes arrive in
//! any pieces ([`StreamFramer::extend`]); whole messages come out
//! ([`StreamFramer::next_message`]). CRLFs between messages (keep-alives, RFC 5626
//! §3.5.1) are skipped. A stream that breaks a limit or carries an unreadable
//! `Content-Length` cannot be resynchronised: the caller closes it. No I/O here.

use bytes::{Buf, Bytes, BytesMut};

use crate::message::MAX_MESSAGE_SIZE;

/// The largest header section (start line, headers, empty line) accepted.
pub const MAX_HEADER_SECTION: usize = 16 * 1024;

/// Why a stream cannot be framed further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// No empty line within [`MAX_HEADER_SECTION`] bytes.
    #[error("header section exceeds {MAX_HEADER_SECTION} bytes")]
    HeaderSectionTooLarge,
    /// The header section plus `Content-Length` exceed [`MAX_MESSAGE_SIZE`].
    #[error("message of {size} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit")]
    MessageTooLarge {
        /// The announced size of the message.
        size: usize,
    },
    /// `Content-Length` is not a number, or two of them disagree.
    #[error("unreadable Content-Length: {0:?}")]
    BadContentLength(String),
}

impl FramingError {
    /// The label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::HeaderSectionTooLarge => "header_section_too_large",
            Self::MessageTooLarge { .. } => "too_large",
            Self::BadContentLength(_) => "bad_content_length",
        }
    }
}

/// The bytes of one stream not yet cut into messages.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buffer: BytesMut,
}

impl StreamFramer {
    /// Appends bytes read from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether the start of a message waits for the rest (after
    /// [`StreamFramer::next_message`] returned `None`).
    pub fn holds_partial_message(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next whole message, `None` until enough bytes have arrived, or why the
    /// stream cannot be framed.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FramingError> {
        let crlfs = self
            .buffer
            .iter()
            .take_while(|&&byte| byte == b'\r' || byte == b'\n')
            .count();
        self.buffer.advance(crlfs);
        let Some(end) = find(&self.buffer, b"\r\n\r\n") else {
            if self.buffer.len() > MAX_HEADER_SECTION {
                return Err(FramingError::HeaderSectionTooLarge);
            }
            return Ok(None);
        };
        let head_len = end + 4;
        if head_len > MAX_HEADER_SECTION {
            return Err(FramingError::HeaderSectionTooLarge);
        }
        let body_len = content_length(&self.buffer[..end])?;
        let size = head_len.saturating_add(body_len);
        if size > MAX_MESSAGE_SIZE {
            return Err(FramingError::MessageTooLarge { size });
        }
        if self.buffer.len() < size {
            return Ok(None);
        }
        Ok(Some(self.buffer.split_to(size).freeze()))
    }
}

/// The `Content-Length` (or compact `l`) of a header section; 0 when absent.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&byte| byte == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !name.eq_ignore_ascii_case(b"content-length") && !name.eq_ignore_ascii_case(b"l") {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        let unreadable = || FramingError::BadContentLength(String::from_utf8_lossy(value).into());
        let length = std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse::<usize>().ok())
            .ok_or_else(unreadable)?;
        if found.is_some_and(|earlier| earlier != length) {
            return Err(unreadable());
        }
        found = Some(length);
    }
    Ok(found.unwrap_or(0))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:kefu SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:kefu>\r\nContent-Length: 0\r\n\r\n";
    const MESSAGE: &[u8] = b"MESSAGE sip:kefu SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK2\r\nl : 5\r\n\r\nhello";

    fn messages(framer: &mut StreamFramer) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(message) = framer.next_message().unwrap() {
            out.push(message);
        }
        out
    }

    #[test]
    fn a_message_torn_at_every_byte_comes_out_whole_once_complete() {
        for split in 1..MESSAGE.len() {
            let mut framer = StreamFramer::default();
            framer.extend(&MESSAGE[..split]);
            assert!(messages(&mut framer).is_empty(), "split at {split}");
            framer.extend(&MESSAGE[split..]);
            assert_eq!(messages(&mut framer), [MESSAGE], "split at {split}");
        }
    }

    #[test]
    fn only_bytes_of_an_unfinished_message_count_as_partial() {
        let mut framer = StreamFramer::default();
        framer.extend(b"\r\n\r\n");
        assert_eq!(framer.next_message(), Ok(None));
        assert!(!framer.holds_partial_message());
        framer.extend(&OPTIONS[..10]);
        assert_eq!(framer.next_message(), Ok(None));
        assert!(framer.holds_partial_message());
        framer.extend(&OPTIONS[10..]);
        assert_eq!(messages(&mut framer), [OPTIONS]);
        assert!(!framer.holds_partial_message());
    }

    #[test]
    fn two_messages_in_one_read_come_out_as_two() {
        let mut framer = StreamFramer::default();
        framer.extend(&[OPTIONS, MESSAGE].concat());
        assert_eq!(messages(&mut framer), [OPTIONS, MESSAGE]);
    }

    #[test]
    fn a_read_ending_inside_the_second_message_keeps_its_start() {
        let mut framer = StreamFramer::default();
        framer.extend(&[OPTIONS, &MESSAGE[..30]].concat());
        assert_eq!(messages(&mut framer), [OPTIONS]);
        framer.extend(&MESSAGE[30..]);
        assert_eq!(messages(&mut framer), [MESSAGE]);
    }

    #[test]
    fn keep_alive_crlfs_between_messages_are_skipped() {
        let mut framer = StreamFramer::default();
        framer.extend(&[b"\r\n\r\n", OPTIONS, b"\r\n", OPTIONS].concat());
        assert_eq!(messages(&mut framer), [OPTIONS, OPTIONS]);
    }

    #[test]
    fn a_missing_content_length_means_no_body() {
        let mut framer = StreamFramer::default();
        framer.extend(b"OPTIONS sip:kefu SIP/2.0\r\nCall-ID: a\r\n\r\nOPTIONS");
        assert_eq!(
            messages(&mut framer),
            [&b"OPTIONS sip:kefu SIP/2.0\r\nCall-ID: a\r\n\r\n"[..]]
        );
    }

    #[test]
    fn a_body_announced_beyond_64_kib_is_refused_before_it_arrives() {
        let mut framer = StreamFramer::default();
        framer.extend(b"MESSAGE sip:kefu SIP/2.0\r\nContent-Length: 70000\r\n\r\nxx");
        assert!(matches!(
            framer.next_message(),
            Err(FramingError::MessageTooLarge { size }) if size > MAX_MESSAGE_SIZE
        ));
    }

    #[test]
    fn a_header_section_without_end_is_refused_past_its_limit() {
        let mut framer = StreamFramer::default();
        framer.extend(b"OPTIONS sip:kefu SIP/2.0\r\n");
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        while framer.buffer.len() <= MAX_HEADER_SECTION {
            assert_eq!(framer.next_message(), Ok(None));
            framer.extend(line);
        }
        assert_eq!(
            framer.next_message(),
            Err(FramingError::HeaderSectionTooLarge)
        );
    }

    #[test]
    fn an_unreadable_or_contradictory_content_length_is_refused() {
        for head in [
            &b"MESSAGE sip:kefu SIP/2.0\r\nContent-Length: -1\r\n\r\n"[..],
            b"MESSAGE sip:kefu SIP/2.0\r\nContent-Length: ten\r\n\r\n",
            b"MESSAGE sip:kefu SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab",
        ] {
            let mut framer = StreamFramer::default();
            framer.extend(head);
            assert!(
                matches!(
                    framer.next_message(),
                    Err(FramingError::BadContentLength(_))
                ),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
