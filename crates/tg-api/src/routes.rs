//! The route table: every module mounts its routes through [`Routes`], which registers them
//! with actix and records `(method, path)` — so the table the OpenAPI test compares with
//! the document is the router itself, not a second list kept by hand.

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{FromRequest, Responder, web};

use crate::dispatch::Dispatch;

/// One mounted route: its method, actix path pattern (`/agents/{id}`), and whether anyone
/// may call it without a key (the authentication middleware reads this, not a list of its
/// own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub public: bool,
}

/// Mounts routes on an actix `ServiceConfig` (or only records them) and keeps the table.
///
/// [`Routes::close`] hands every path's routes to [`Dispatch`], the application's one
/// service for the table: actix's router never sees them.
pub(crate) struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    table: Vec<Route>,
    /// Each path's actix routes by method, by the path's first appearance (only when
    /// mounting).
    resources: Vec<(&'static str, Vec<(Method, actix_web::Route)>)>,
    /// Set by [`Routes::public`]: the next route needs no key.
    next_public: bool,
}

impl<'a> Routes<'a> {
    pub fn mount(cfg: &'a mut web::ServiceConfig) -> Self {
        Self {
            cfg: Some(cfg),
            table: Vec::new(),
            resources: Vec::new(),
            next_public: false,
        }
    }

    /// Records the table without an actix application.
    pub fn record() -> Self {
        Self {
            cfg: None,
            table: Vec::new(),
            resources: Vec::new(),
            next_public: false,
        }
    }

    /// The next route added is public: anyone may call it without a key (it may still
    /// authenticate the caller itself, as `/ws/dashboard` does with a ticket).
    pub fn public(&mut self) -> &mut Self {
        self.next_public = true;
        self
    }

    /// Adds `handler` for `method` to `path`'s routes, when mounting.
    fn mount_route<F, Args>(&mut self, method: &Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        if self.cfg.is_none() {
            return;
        }
        let route = (method.clone(), web::route().to(handler));
        match self.resources.iter_mut().find(|(p, _)| *p == path) {
            Some((_, routes)) => routes.push(route),
            None => self.resources.push((path, vec![route])),
        }
    }

    pub fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.mount_route(&method, path, handler);
        let public = std::mem::take(&mut self.next_public);
        self.table.push(Route {
            method,
            path,
            public,
        });
        self
    }

    /// A GET route, answered for HEAD too (RFC 9110 §9.3.2: the same headers, no body —
    /// actix drops the body of a HEAD response). Only GET goes into the table: HEAD is
    /// implied, not an operation of its own.
    pub fn get<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let head = handler.clone();
        self.add(Method::GET, path, handler);
        self.mount_route(&Method::HEAD, path, head);
        self
    }

    pub fn post<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler)
    }

    pub fn put<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PUT, path, handler)
    }

    pub fn patch<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PATCH, path, handler)
    }

    pub fn delete<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::DELETE, path, handler)
    }

    /// Makes every mounted path's routes the application's default service, through
    /// [`Dispatch`]: a request goes to the first path of the table that serves its method,
    /// any method a matching path does not serve answers 405 with `Allow` (RFC 9110
    /// §15.5.6), and a path no pattern matches answers 404.
    pub fn close(&mut self) {
        let Some(cfg) = self.cfg.as_deref_mut() else {
            return;
        };
        cfg.default_service(Dispatch::new(std::mem::take(&mut self.resources)));
    }

    pub fn into_table(self) -> Vec<Route> {
        self.table
    }
}
