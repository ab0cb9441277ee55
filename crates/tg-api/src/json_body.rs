//! The JSON request body extractor every route with a JSON body uses (none uses
//! `web::Json`).
//!
//! It answers as [`crate::error::json_error`] says: 415 for a body that is not
//! `application/json`, 413 past [`crate::MAX_BODY_BYTES`], 400 for malformed JSON, 422 for
//! JSON that is not the type. The top level must be an object. serde would otherwise build
//! a struct from an array of its fields' values, which no client means.
//!
//! It reads the body into a buffer of the announced length and parses the type straight
//! from it. (`web::Json` starts an 8 KiB buffer for every body, and parsing to a
//! `serde_json::Value` first to look at the top level costs a second pass and its
//! allocations: both were visible in the `POST /authorize` profile.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::MAX_BODY_BYTES;
use crate::error::json_error;

/// A JSON object body of `T` (`application/json`, at most 64 KiB).
pub(crate) struct Json<T>(T);

impl<T> Json<T> {
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let announced = announced_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let parsed = match announced {
                Ok(length) => read(&mut payload, length).await.and_then(|body| {
                    serde_json::from_slice::<TopLevelObject<T>>(&body)
                        .map_err(JsonPayloadError::Deserialize)
                }),
                Err(e) => Err(e),
            };
            parsed
                .map(|TopLevelObject(t)| Json(t))
                .map_err(|e| json_error(&e).into())
        })
    }
}

/// The body's `Content-Length`, if any, once the media type is JSON (`application/json`
/// or a `+json` type) and the length is within the limit.
fn announced_length(req: &HttpRequest) -> Result<Option<usize>, JsonPayloadError> {
    let json = matches!(req.mime_type(), Ok(Some(mime))
        if mime.subtype() == actix_web::mime::JSON || mime.suffix() == Some(actix_web::mime::JSON));
    if !json {
        return Err(JsonPayloadError::ContentType);
    }
    let length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match length {
        Some(length) if length > MAX_BODY_BYTES => Err(JsonPayloadError::OverflowKnownLength {
            length,
            limit: MAX_BODY_BYTES,
        }),
        _ => Ok(length),
    }
}

/// The whole body, in one buffer of the announced length (grown only if the body runs
/// past it, and never past the limit).
async fn read(
    payload: &mut Payload,
    announced: Option<usize>,
) -> Result<BytesMut, JsonPayloadError> {
    let mut body = BytesMut::with_capacity(announced.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(JsonPayloadError::Overflow {
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `T`, read only from a JSON object.
struct TopLevelObject<T>(T);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for TopLevelObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(ObjectsOnly(d)).map(TopLevelObject)
    }
}

/// A deserializer that hands its visitor only maps: whatever `T` asks for, it reads the
/// next value as it is and refuses an array.
struct ObjectsOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(MapsOnly(visitor))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct MapsOnly<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapsOnly<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "the request body must be a JSON object, not an array",
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Ask {
        agent_id: String,
        #[serde(default)]
        min: Option<u64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        ApiKey,
        Other { x: u8 },
    }

    async fn extract<T: DeserializeOwned + 'static>(
        content_type: Option<&str>,
        body: &'static str,
    ) -> Result<T, (StatusCode, String)> {
        let mut req = TestRequest::post();
        if let Some(ct) = content_type {
            req = req.insert_header(("content-type", ct));
        }
        let (req, mut payload) = req.set_payload(body).to_http_parts();
        match Json::<T>::from_request(&req, &mut payload).await {
            Ok(j) => Ok(j.into_inner()),
            Err(e) => {
                let resp = e.error_response();
                let status = resp.status();
                let body = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
                Err((status, String::from_utf8_lossy(&body).into_owned()))
            }
        }
    }

    #[actix_web::test]
    async fn an_object_of_the_type_is_read() {
        let got: Ask = extract(Some("application/json"), r#" {"agent_id":"a","min":3} "#)
            .await
            .unwrap();
        assert_eq!(
            got,
            Ask {
                agent_id: "a".into(),
                min: Some(3)
            }
        );
        // A `+json` media type, and an internally tagged enum, read as before.
        let got: Tagged = extract(
            Some("application/merge-patch+json"),
            r#"{"type":"other","x":2}"#,
        )
        .await
        .unwrap();
        assert_eq!(got, Tagged::Other { x: 2 });
    }

    #[actix_web::test]
    async fn an_array_is_refused_even_where_serde_would_read_one() {
        for body in [r#"["a", 3]"#, r#"[]"#] {
            let (status, text) = extract::<Ask>(Some("application/json"), body)
                .await
                .unwrap_err();
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert!(text.contains("not an array"), "{text}");
        }
        // serde reads an internally tagged enum from an array whose first element is the tag.
        let (status, text) = extract::<Tagged>(Some("application/json"), r#"["api_key"]"#)
            .await
            .unwrap_err();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(text.contains("not an array"), "{text}");
    }

    #[actix_web::test]
    async fn each_failure_has_its_status() {
        let cases: [(Option<&str>, &'static str, StatusCode, &str); 6] = [
            (
                None,
                r#"{"agent_id":"a"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                Some("text/plain"),
                r#"{"agent_id":"a"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                Some("application/json"),
                r#"{"agent_id":"#,
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                Some("application/json"),
                "",
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                Some("application/json"),
                r#"{"agent_id":7}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
            ),
            (
                Some("application/json"),
                r#""text""#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
            ),
        ];
        for (ct, body, status, code) in cases {
            let (got, text) = extract::<Ask>(ct, body).await.unwrap_err();
            assert_eq!(got, status, "{ct:?} {body}: {text}");
            assert!(text.contains(code), "{ct:?} {body}: {text}");
        }
    }

    #[actix_web::test]
    async fn a_body_past_the_limit_is_413_announced_or_not() {
        let big: &'static str = Box::leak(
            format!(r#"{{"agent_id":"{}"}}"#, "a".repeat(MAX_BODY_BYTES)).into_boxed_str(),
        );
        // Announced: `set_payload` sets Content-Length.
        let (status, _) = extract::<Ask>(Some("application/json"), big)
            .await
            .unwrap_err();
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // Not announced: read until it runs past the limit.
        let (req, _) = TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .to_http_parts();
        let chunks = [Ok(actix_web::web::Bytes::from_static(big.as_bytes()))];
        let stream: Pin<
            Box<
                dyn futures_util::Stream<
                        Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
                    >,
            >,
        > = Box::pin(futures_util::stream::iter(chunks));
        let mut payload = Payload::from(stream);
        let e = Json::<Ask>::from_request(&req, &mut payload)
            .await
            .err()
            .unwrap();
        assert_eq!(e.error_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
