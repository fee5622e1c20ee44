//! Requests hyper cannot parse: a request line over 64 KiB (414), a head over its buffer or with
//! more than 100 fields (431), or bytes that are not HTTP (400). hyper answers those itself,
//! before any service runs, with an empty body; this wrapper of the connection's I/O replaces
//! that answer with the protocol's JSON error shape, as for every other failure.
//!
//! hyper writes such an answer as one head (`HTTP/1.1 <status> …`, `content-length: 0`) and then
//! closes the connection. Every answer of ours has a body, and WebSocket frames never start with
//! `HTTP/`, so nothing else matches.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::rt::{Read, ReadBufCursor, Write};
use streamit_protocol::v1::{ErrorBody, ErrorCode};

/// A connection's I/O whose unparsed-request answers leave in the JSON error shape.
pub(crate) struct JsonRefusals<T> {
    inner: T,
    /// The replacement answer, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonRefusals<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// hyper's empty answer to an unparsed request, as the error code it stands for.
fn refusal_in(written: &[u8]) -> Option<ErrorCode> {
    let code = if written.starts_with(b"HTTP/1.1 414 ") {
        ErrorCode::UriTooLong
    } else if written.starts_with(b"HTTP/1.1 431 ") {
        ErrorCode::HeadersTooLarge
    } else if written.starts_with(b"HTTP/1.1 400 ") {
        ErrorCode::InvalidInput
    } else {
        return None;
    };
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let empty = written[..head_end + 2]
        .split(|&b| b == b'\n')
        .any(|line| line.eq_ignore_ascii_case(b"content-length: 0\r"));
    empty.then_some(code)
}

/// The whole answer for `code`: status line, JSON headers, body; the connection closes after.
fn answer(code: ErrorCode) -> Vec<u8> {
    let message = match code {
        ErrorCode::UriTooLong => "the request line is over 64 KiB",
        ErrorCode::HeadersTooLarge => "the header fields are too many or too large",
        _ => "the request is not valid HTTP/1.1",
    };
    let body = serde_json::to_vec(&ErrorBody::new(code, message.to_owned())).unwrap_or_else(|_| {
        br#"{"error":{"code":"INVALID_INPUT","message":"bad request"}}"#.to_vec()
    });
    let status =
        http::StatusCode::from_u16(code.http_status()).unwrap_or(http::StatusCode::BAD_REQUEST);
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

impl<T: Write + Unpin> JsonRefusals<T> {
    /// Writes what is left of the replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((answer, written)) = &mut self.pending {
            if *written == answer.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &answer[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: Read + Unpin> Read for JsonRefusals<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for JsonRefusals<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(code) = refusal_in(buf) {
            tracing::debug!(%code, "request refused unparsed");
            self.pending = Some((answer(code), 0));
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    /// Off, so hyper hands each answer's head over in one piece, where it can be recognised.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_refusals_are_replaced() {
        let hyper_414 = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(refusal_in(hyper_414), Some(ErrorCode::UriTooLong));
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(refusal_in(hyper_431), Some(ErrorCode::HeadersTooLarge));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n{}";
        assert_eq!(refusal_in(ours), None);
        assert_eq!(
            refusal_in(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
            None
        );
        assert_eq!(refusal_in(b"\x81\x05hello"), None);
    }

    #[test]
    fn the_answer_is_the_error_shape_with_its_status() {
        let answer = String::from_utf8(answer(ErrorCode::HeadersTooLarge)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "HEADERS_TOO_LARGE");
    }
}
