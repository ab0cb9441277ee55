//! The route table: every module mounts its routes through [`Routes`], which registers them
//! with actix and records `(method, path)` — so the table the OpenAPI test compares with
//! the document is the router itself, not a second list kept by hand.

use actix_web::dev::Handler;
use actix_web::http::Method;
use actix_web::{FromRequest, Responder, web};

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
/// Every path becomes one actix resource, mounted by [`Routes::close`] in the order the
/// paths first appear, guarded by the methods it serves: a request whose path matches but
/// whose method does not goes on to the later resources, as it would past a resource per
/// method, while the router matches each path pattern once instead of once per method
/// (dynamic patterns are regular expressions, and the router tries them in order).
pub(crate) struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    table: Vec<Route>,
    /// Each path's actix routes, by the path's first appearance (only when mounting).
    resources: Vec<(&'static str, Vec<actix_web::Route>)>,
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

    /// Adds `route` to `path`'s resource, when mounting.
    fn mount_route(&mut self, path: &'static str, route: impl FnOnce() -> actix_web::Route) {
        if self.cfg.is_none() {
            return;
        }
        let route = route();
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
        let m = method.clone();
        self.mount_route(path, || web::method(m).to(handler));
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
        self.mount_route(path, || web::head().to(head));
        self.add(Method::GET, path, handler)
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

    /// Mounts every path's resource, then, last: on every path, any method it does not
    /// serve answers 405 with `Allow` (RFC 9110 §15.5.6), not 404.
    ///
    /// Paths are grouped in one actix scope per first segment (`/agents`, `/log`, …), at the
    /// place the segment first appears: the router then compares a few literal prefixes
    /// before it runs the regular expressions of one group's dynamic patterns, instead of
    /// those of every dynamic pattern mounted before the one it looks for. Matching is
    /// unchanged: a path can only match patterns that share its first segment, within a
    /// group the order is the mounting order, and each group's 405 answers come after all
    /// of its resources (the ungrouped ones' after everything), as a request whose method
    /// a path does not serve must still reach a later path that serves it.
    pub fn close(&mut self) {
        let Some(cfg) = self.cfg.as_deref_mut() else {
            return;
        };
        let mut mounted = Vec::new();
        for (path, routes) in std::mem::take(&mut self.resources) {
            let mut methods: Vec<Method> = Vec::new();
            for r in self.table.iter().filter(|r| r.path == path) {
                methods.push(r.method.clone());
                if r.method == Method::GET {
                    methods.push(Method::HEAD);
                }
            }
            mounted.push(Mounted {
                path,
                routes,
                methods,
            });
        }
        // A path whose first segment is a pattern could match under any prefix: then no
        // scope, so the mounting order alone decides, as before.
        let scoped = mounted.iter().all(|m| first_segment(m.path).is_some());
        let mut groups: Vec<(&'static str, Vec<Mounted>)> = Vec::new();
        for m in mounted {
            let key = first_segment(m.path)
                .filter(|p| scoped && *p != docs_prefix())
                .unwrap_or(m.path);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, group)) => group.push(m),
                None => groups.push((key, vec![m])),
            }
        }
        let mut fallbacks = Vec::new();
        for (key, group) in groups {
            // A group of one gains nothing from a scope.
            if group.len() < 2 {
                for m in group {
                    fallbacks.push(m.register(cfg, ""));
                }
                continue;
            }
            cfg.service(web::scope(key).configure(|c| {
                let own: Vec<_> = group.into_iter().map(|m| m.register(c, key)).collect();
                for fallback in own {
                    fallback.register(c);
                }
            }));
        }
        for fallback in fallbacks {
            fallback.register(cfg);
        }
    }

    pub fn into_table(self) -> Vec<Route> {
        self.table
    }
}

/// One path's resource, and the methods it serves.
struct Mounted {
    path: &'static str,
    routes: Vec<actix_web::Route>,
    methods: Vec<Method>,
}

impl Mounted {
    /// Registers the resource inside `scope` (`""` for none: at its path); returns its 405
    /// answer, to be registered after every resource that could match the path.
    fn register(self, cfg: &mut web::ServiceConfig, scope: &str) -> Fallback {
        let at = self.path.get(scope.len()..).unwrap_or(self.path);
        let allow = self
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let resource = self.routes.into_iter().fold(
            web::resource(at).guard(Methods(self.methods)),
            |res, route| res.route(route),
        );
        cfg.service(resource);
        Fallback { at, allow }
    }
}

/// 405 with `Allow` for any method a path does not serve.
struct Fallback {
    at: &'static str,
    allow: String,
}

impl Fallback {
    fn register(self, cfg: &mut web::ServiceConfig) {
        let Fallback { at, allow } = self;
        cfg.route(
            at,
            web::route().to(move |req: actix_web::HttpRequest| {
                let allow = allow.clone();
                async move { crate::error::method_not_allowed(&req, &allow) }
            }),
        );
    }
}

/// A path's literal first segment with its slash (`/agents` of `/agents/{id}`); none when
/// the first segment is a pattern.
fn first_segment(path: &'static str) -> Option<&'static str> {
    let end = path.get(1..)?.find('/').map_or(path.len(), |n| n + 1);
    path.get(..end).filter(|p| !p.contains(['{', '}']))
}

/// The docs UI's prefix (`/docs`): its asset files are served outside the table, so no
/// scope may take it.
fn docs_prefix() -> &'static str {
    crate::openapi::DOCS_PREFIX.trim_end_matches('/')
}

/// A resource's guard: the request's method is one of these.
struct Methods(Vec<Method>);

impl actix_web::guard::Guard for Methods {
    fn check(&self, ctx: &actix_web::guard::GuardContext<'_>) -> bool {
        self.0.contains(&ctx.head().method)
    }
}
