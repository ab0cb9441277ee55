//! The application's one service for the route table: it serves each request by the route
//! [`route_match`](crate::route_match) found for it, so the path is matched once, segment
//! by segment, and never by the regular expressions actix's router would run for each
//! dynamic pattern in turn (and compile, in every worker).
//!
//! Mounted as the application's default service: actix's router holds only what lies
//! outside the table (the docs UI's asset files), and everything else comes here.

use std::future::{Future, ready};
use std::pin::Pin;

use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::{Error, Route};

type RouteService = <Route as ServiceFactory<ServiceRequest>>::Service;
type Answer = Pin<Box<dyn Future<Output = Result<ServiceResponse, Error>>>>;

/// One path of the table: its routes by method, and its `Allow` value for the others.
struct Path<S> {
    routes: Vec<(Method, S)>,
    allow: String,
}

/// Builds each worker's [`Dispatcher`]: the table's paths, by their place in the table.
pub(crate) struct Dispatch {
    paths: Vec<Option<Path<Route>>>,
}

impl Dispatch {
    /// `resources`: each mounted path's methods and routes (HEAD's among them, where it is
    /// served). A path the table does not hold is left out (none is: both come from the
    /// same mounting).
    pub fn new(resources: Vec<(&'static str, Vec<(Method, Route)>)>) -> Self {
        let mut paths: Vec<Option<Path<Route>>> = Vec::new();
        for (pattern, routes) in resources {
            let Some(index) = crate::route_match::index_of(pattern) else {
                tracing::error!(pattern, "a mounted path is not in the route table");
                continue;
            };
            if paths.len() <= index {
                paths.resize_with(index + 1, || None);
            }
            let allow = routes
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(slot) = paths.get_mut(index) {
                *slot = Some(Path { routes, allow });
            }
        }
        Self { paths }
    }
}

impl ServiceFactory<ServiceRequest> for Dispatch {
    type Response = ServiceResponse;
    type Error = Error;
    type Config = ();
    type Service = Dispatcher;
    type InitError = ();
    type Future = Pin<Box<dyn Future<Output = Result<Dispatcher, ()>>>>;

    fn new_service(&self, _: ()) -> Self::Future {
        let pending: Vec<Option<(Vec<_>, String)>> = self
            .paths
            .iter()
            .map(|p| {
                p.as_ref().map(|p| {
                    let routes: Vec<_> = p
                        .routes
                        .iter()
                        .map(|(m, r)| (m.clone(), r.new_service(())))
                        .collect();
                    (routes, p.allow.clone())
                })
            })
            .collect();
        Box::pin(async move {
            let mut paths = Vec::with_capacity(pending.len());
            for path in pending {
                let Some((pending_routes, allow)) = path else {
                    paths.push(None);
                    continue;
                };
                let mut routes = Vec::with_capacity(pending_routes.len());
                for (method, service) in pending_routes {
                    routes.push((method, service.await?));
                }
                paths.push(Some(Path { routes, allow }));
            }
            Ok(Dispatcher { paths })
        })
    }
}

/// One worker's services for the table's paths.
pub(crate) struct Dispatcher {
    paths: Vec<Option<Path<RouteService>>>,
}

impl Service<ServiceRequest> for Dispatcher {
    type Response = ServiceResponse;
    type Error = Error;
    type Future = Answer;

    actix_web::dev::always_ready!();

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let matched = crate::route_match::matched(&req);
        let path = matched
            .index
            .and_then(|i| self.paths.get(i)?.as_ref().map(|p| (i, p)));
        let Some((index, path)) = path else {
            return answer(req, crate::error::not_found);
        };
        let route = path.routes.iter().find(|(m, _)| m == req.method());
        match route {
            Some((_, service)) if crate::route_match::capture(index, &mut req) => service.call(req),
            Some(_) => answer(req, crate::error::not_found),
            None => {
                let allow = path.allow.as_str();
                answer(req, |r| crate::error::method_not_allowed(r, allow))
            }
        }
    }
}

fn answer(
    req: ServiceRequest,
    respond: impl FnOnce(&actix_web::HttpRequest) -> actix_web::HttpResponse,
) -> Answer {
    let (req, _) = req.into_parts();
    let response = respond(&req);
    Box::pin(ready(Ok(ServiceResponse::new(req, response))))
}
