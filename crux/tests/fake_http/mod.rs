//! A stand-in for the few pieces of `crux_http` 0.x that crux_core 0.20's own tests use
//! (`crux_http` is not in this workspace's Cargo.lock, and the machine is offline): the
//! protocol types `HttpRequest`, `HttpResponse`, `HttpResult`, with the same serde shape, and
//! `Http::get` / `Http::post` building the request command. What `crux_http` adds on top (its
//! middleware, JSON decoding of the response into `Response<T>`) is not needed by the tests:
//! the apps ignore the response.

#![allow(dead_code)]

use std::future::Future;

use crux_core::capability::Operation;
use crux_core::command::RequestBuilder;
use crux_core::{Command, Request};
use serde::{Deserialize, Serialize};

/// A header, as `crux_http::protocol::HttpHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeader {
    /// The header's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The request, as `crux_http::protocol::HttpRequest` (same fields, same order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// Where to.
    pub url: String,
    /// The headers.
    pub headers: Vec<HttpHeader>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

/// The response, as `crux_http::protocol::HttpResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<HttpHeader>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// `HttpResponse::status(code).build()` in `crux_http`.
    pub fn status(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `HttpResponse::ok()` in `crux_http`.
    pub fn ok() -> HttpResponse {
        HttpResponse::status(200)
    }

    /// `.body(text)` in `crux_http`'s response builder.
    pub fn body(mut self, body: &str) -> HttpResponse {
        self.body = body.as_bytes().to_vec();
        self
    }
}

/// An error, as (a part of) `crux_http::protocol::HttpError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpError {
    /// An I/O error in the shell.
    Io(String),
}

/// The output of an `HttpRequest`, as `crux_http::protocol::HttpResult`: an enum, so a bad
/// JSON value fails to deserialize with serde_json's "expected value" as in crux_core's
/// tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpResult {
    /// A response.
    Ok(HttpResponse),
    /// An error.
    Err(HttpError),
}

impl Operation for HttpRequest {
    type Output = HttpResult;
}

/// `crux_http::command::Http`: builds the request command.
pub struct Http;

impl Http {
    /// `Http::get(url).build()`.
    pub fn get<Effect, Event>(
        url: &str,
    ) -> RequestBuilder<Effect, Event, impl Future<Output = HttpResult>>
    where
        Effect: Send + From<Request<HttpRequest>> + 'static,
        Event: Send + 'static,
    {
        Command::request_from_shell(HttpRequest {
            method: "GET".to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    /// `Http::post(url).body_json(body)?.expect_json().build()`.
    pub fn post_json<Effect, Event, T: Serialize>(
        url: &str,
        body: &T,
    ) -> RequestBuilder<Effect, Event, impl Future<Output = HttpResult>>
    where
        Effect: Send + From<Request<HttpRequest>> + 'static,
        Event: Send + 'static,
    {
        Command::request_from_shell(HttpRequest {
            method: "POST".to_string(),
            url: url.to_string(),
            headers: vec![HttpHeader {
                name: "content-type".to_string(),
                value: "application/json".to_string(),
            }],
            body: serde_json::to_vec(body).expect("numbers should serialize"),
        })
    }
}
