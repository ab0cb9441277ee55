//! What the route table says of a request — its pattern, whether it is public, its
//! operation id — looked up once per request by the outermost middleware and shared by
//! the others (request span, metrics, authentication).
//!
//! The table's patterns are `/literal/{param}` paths, matched segment by segment as actix
//! matches them (`{param}` is one non-empty segment; a last `{name:.*}` is the rest of the
//! path), without the regular expressions actix's resource map would run for every dynamic
//! pattern on the way. A pattern with any other expression is matched by actix's own
//! `ResourceDef`.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::HttpMessage;
use actix_web::dev::{ResourceDef, ServiceRequest};
use actix_web::http::Method;

use crate::Route;

/// The route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Matched {
    /// The route pattern (`/agents/{id}`), or `unmatched`.
    pub pattern: &'static str,
    /// The OpenAPI operation id of this method on the pattern, if it has one.
    pub operation: Option<&'static str>,
    /// Anyone may call it without a key (GET's mark covers HEAD).
    pub public: bool,
    /// The pattern's place in the table (what [`crate::dispatch`] serves it by); `None`
    /// when no pattern matches.
    pub index: Option<usize>,
}

const UNMATCHED: Matched = Matched {
    pattern: "unmatched",
    operation: None,
    public: false,
    index: None,
};

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(&'static str),
    /// `{name}`: one non-empty segment.
    Param(&'static str),
    /// `{name:.*}`, last: whatever is left, slashes included, or nothing.
    Tail(&'static str),
}

#[derive(Debug)]
enum Pattern {
    Segments(Vec<Segment>),
    Expression(ResourceDef),
}

/// One path of the table and what each of its methods is.
#[derive(Debug)]
struct Path {
    pattern: &'static str,
    matcher: Pattern,
    methods: Vec<(Method, Option<&'static str>, bool)>,
}

impl Path {
    fn matches(&self, path: &str) -> bool {
        self.walk(path, |_, _| {})
    }

    /// Whether `path` matches, calling `param` with each parameter's name and value.
    fn walk(&self, path: &str, mut param: impl FnMut(&'static str, &str)) -> bool {
        let segments = match &self.matcher {
            Pattern::Segments(s) => s,
            Pattern::Expression(def) => return def.is_match(path),
        };
        let Some(mut rest) = path.strip_prefix('/') else {
            return false;
        };
        for (n, segment) in segments.iter().enumerate() {
            if let Segment::Tail(name) = segment {
                param(name, rest);
                return true;
            }
            let (given, after) = rest.split_once('/').unwrap_or((rest, ""));
            let last = n + 1 == segments.len();
            // The path has as many segments as the pattern: none left over, none missing.
            if last == rest.contains('/') {
                return false;
            }
            match segment {
                Segment::Literal(l) if *l == given => {}
                Segment::Param(name) if !given.is_empty() => param(name, given),
                _ => return false,
            }
            rest = after;
        }
        true
    }

    /// The entry serving `method`: its own, or GET's for HEAD.
    fn serving(&self, method: &Method) -> Option<&(Method, Option<&'static str>, bool)> {
        self.methods.iter().find(|(m, ..)| m == method).or_else(|| {
            // HEAD is served wherever GET is, with GET's access (no operation of its own).
            (*method == Method::HEAD)
                .then(|| self.methods.iter().find(|(m, ..)| *m == Method::GET))
                .flatten()
        })
    }

    fn answer(&self, index: usize, method: &Method) -> Matched {
        let found = self.serving(method);
        Matched {
            pattern: self.pattern,
            operation: found
                .filter(|(m, ..)| m == method)
                .and_then(|(_, op, _)| *op),
            public: found.is_some_and(|(.., public)| *public),
            index: Some(index),
        }
    }
}

fn matcher(pattern: &'static str) -> Pattern {
    let parts: Vec<&'static str> = pattern.trim_start_matches('/').split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (n, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            None if !part.contains(['{', '}']) => Segment::Literal(part),
            Some(name) if !name.contains(':') => Segment::Param(name),
            Some(name) if name.ends_with(":.*") && n + 1 == parts.len() => {
                Segment::Tail(name.trim_end_matches(":.*"))
            }
            _ => return Pattern::Expression(ResourceDef::new(pattern)),
        };
        segments.push(segment);
    }
    Pattern::Segments(segments)
}

/// The table's paths in mounting order, each once.
fn paths(table: Vec<Route>) -> Vec<Path> {
    let mut paths: Vec<Path> = Vec::new();
    for route in table {
        let operation = crate::operation_ids::operation_id(route.method.as_str(), route.path);
        let method = (route.method, operation, route.public);
        match paths.iter_mut().find(|p| p.pattern == route.path) {
            Some(p) => p.methods.push(method),
            None => paths.push(Path {
                pattern: route.path,
                matcher: matcher(route.path),
                methods: vec![method],
            }),
        }
    }
    paths
}

/// The table's paths, and for each literal first segment the paths a request starting with
/// it can match, in table order: those with that first segment, and those whose first
/// segment is not a literal. A request compares its path with a few patterns, not the
/// whole table.
#[derive(Debug)]
struct Table {
    paths: Vec<Path>,
    by_first: HashMap<&'static str, Vec<usize>>,
    /// Paths whose first segment is not a literal (a parameter, or an expression).
    any_first: Vec<usize>,
}

impl Table {
    fn new(paths: Vec<Path>) -> Self {
        let first = |p: &Path| match &p.matcher {
            Pattern::Segments(s) => match s.first() {
                Some(Segment::Literal(l)) => Some(*l),
                _ => None,
            },
            Pattern::Expression(_) => None,
        };
        let any_first: Vec<usize> = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| first(p).is_none())
            .map(|(i, _)| i)
            .collect();
        let mut by_first: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, path) in paths.iter().enumerate() {
            if let Some(literal) = first(path) {
                by_first.entry(literal).or_default().push(i);
            }
        }
        for indices in by_first.values_mut() {
            indices.extend(&any_first);
            indices.sort_unstable();
        }
        Self {
            paths,
            by_first,
            any_first,
        }
    }

    /// The first path of the table that `path` matches and that serves `method`, in the
    /// table's order; when every path it matches serves other methods, the first of them
    /// (a 405).
    fn find(&self, method: &Method, path: &str) -> Matched {
        let first = path
            .strip_prefix('/')
            .map(|rest| rest.split_once('/').map_or(rest, |(first, _)| first));
        let candidates = first
            .and_then(|f| self.by_first.get(f))
            .unwrap_or(&self.any_first);
        let mut not_served = None;
        for &i in candidates {
            let Some(p) = self.paths.get(i).filter(|p| p.matches(path)) else {
                continue;
            };
            if p.serving(method).is_some() {
                return p.answer(i, method);
            }
            not_served.get_or_insert((i, p));
        }
        not_served.map_or(UNMATCHED, |(i, p)| p.answer(i, method))
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::new(paths(crate::route_table())))
}

/// The request's route, looked up on first use and kept in its extensions. Paths are
/// matched as actix routes them: percent-decoded, except `%`, `/` and `+`.
pub(crate) fn matched(req: &ServiceRequest) -> Matched {
    if let Some(m) = req.extensions().get::<Matched>() {
        return *m;
    }
    let m = table().find(req.method(), req.match_info().as_str());
    req.extensions_mut().insert(m);
    m
}

/// The place of `pattern` in the table, which [`Matched::index`] names.
pub(crate) fn index_of(pattern: &str) -> Option<usize> {
    table().paths.iter().position(|p| p.pattern == pattern)
}

/// Sets the request's path parameters (what `web::Path` reads) from the pattern at
/// `index`, as actix's router would have. `false` if the path does not match it.
pub(crate) fn capture(index: usize, req: &mut ServiceRequest) -> bool {
    let Some(path) = table().paths.get(index) else {
        return false;
    };
    let info = req.match_info_mut();
    if let Pattern::Expression(def) = &path.matcher {
        return def.capture_match_info(info);
    }
    let mut params: Vec<(&'static str, String)> = Vec::new();
    let matched = path.walk(info.as_str(), |name, value| {
        params.push((name, value.to_owned()));
    });
    if matched {
        for (name, value) in params {
            info.add_static(name, value);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::dev::ResourceDef;

    use super::*;

    fn lookup(method: Method, path: &str) -> Matched {
        Table::new(paths(crate::route_table())).find(&method, path)
    }

    #[test]
    fn patterns_with_other_expressions_are_left_to_actix() {
        assert!(matches!(matcher("/a/{n:[0-9]+}"), Pattern::Expression(_)));
        assert!(matches!(matcher("/a/{rest:.*}/b"), Pattern::Expression(_)));
        assert!(matches!(matcher("/a/x{n}"), Pattern::Expression(_)));
        let digits = Path {
            pattern: "/a/{n:[0-9]+}",
            matcher: matcher("/a/{n:[0-9]+}"),
            methods: Vec::new(),
        };
        assert!(digits.matches("/a/12") && !digits.matches("/a/b"));
    }

    #[test]
    fn requests_find_their_pattern_operation_and_access() {
        let trust = lookup(Method::GET, "/agents/ag_1/trust");
        assert_eq!(trust.pattern, "/agents/{id}/trust");
        assert_eq!(trust.operation, Some("get_trust_breakdown"));
        assert!(!trust.public);
        // Literal routes come first where the router puts them first.
        assert_eq!(
            lookup(Method::GET, "/agents/discover").pattern,
            "/agents/discover"
        );
        let health = lookup(Method::GET, "/health");
        assert!(health.public);
        let head = lookup(Method::HEAD, "/health");
        assert!(head.public, "HEAD has GET's access");
        assert_eq!(head.operation, None, "HEAD is not an operation of its own");
        // A method the path does not serve: the pattern (405), not public.
        let put = lookup(Method::PUT, "/health");
        assert_eq!((put.pattern, put.public), ("/health", false));
        for tail in ["/log/tile/", "/log/tile/0/x/001.p/2"] {
            assert_eq!(lookup(Method::GET, tail).pattern, "/log/tile/{path:.*}");
        }
        for unknown in ["/agents//trust", "/agents/ag_1/trust/", "health", "/", ""] {
            assert_eq!(lookup(Method::GET, unknown), UNMATCHED, "{unknown}");
        }
    }

    /// A path goes to the first pattern that serves the method, as past actix resources
    /// guarded by method; when none serves it, to the first that matches (a 405).
    #[test]
    fn a_method_one_pattern_does_not_serve_goes_on_to_the_next() {
        let get = lookup(Method::GET, "/agents/register");
        assert_eq!(get.pattern, "/agents/{id}");
        assert_eq!(get.operation, Some("get_agent"));
        let post = lookup(Method::POST, "/agents/register");
        assert_eq!(post.pattern, "/agents/register");
        let put = lookup(Method::PUT, "/agents/register");
        assert_eq!((put.pattern, put.operation), ("/agents/register", None));
        assert_ne!(get.index, post.index);
        assert_eq!(post.index, index_of("/agents/register"));
    }

    /// Parameters are what actix's router would capture: the requoted path's segment
    /// (`%5F` decoded, `%2F` kept for `web::Path` to decode), the tail with its slashes.
    #[test]
    fn captured_parameters_are_what_actix_would_capture() {
        let capture_of = |pattern: &str, uri: &str| {
            let mut req = actix_web::test::TestRequest::with_uri(uri).to_srv_request();
            let index = index_of(pattern).unwrap();
            let captured = capture(index, &mut req);
            (captured, req.match_info().clone())
        };
        let (ok, info) = capture_of("/agents/{id}/trust", "/agents/ag%5F1/trust");
        assert!(ok);
        assert_eq!(info.get("id"), Some("ag_1"));
        let (ok, info) = capture_of("/agents/{id}/trust", "/agents/a%2Fb/trust");
        assert!(ok);
        assert_eq!(info.get("id"), Some("a%2Fb"));
        assert_eq!(info.load::<(String,)>().unwrap().0, "a/b");
        let (ok, info) = capture_of("/log/tile/{path:.*}", "/log/tile/0/x/001.p/2");
        assert!(ok);
        assert_eq!(info.get("path"), Some("0/x/001.p/2"));
        let (ok, info) = capture_of("/agents/{id}/trust", "/agents/ag_1/history");
        assert!(!ok);
        assert!(info.is_empty());
    }

    /// Grouping by first segment keeps the table's order, patterns that start with a
    /// parameter included.
    #[test]
    fn a_parameter_first_pattern_keeps_its_place_in_the_order() {
        let table = |patterns: &[&'static str]| {
            Table::new(
                patterns
                    .iter()
                    .map(|&pattern| Path {
                        pattern,
                        matcher: matcher(pattern),
                        methods: vec![(Method::GET, None, false)],
                    })
                    .collect(),
            )
        };
        let literal_first = table(&["/a/x", "/{p}/x", "/a/{q}"]);
        for (path, pattern) in [
            ("/a/x", "/a/x"),
            ("/b/x", "/{p}/x"),
            ("/a/y", "/a/{q}"),
            ("/b/y", "unmatched"),
        ] {
            assert_eq!(
                literal_first.find(&Method::GET, path).pattern,
                pattern,
                "{path}"
            );
        }
        let parameter_first = table(&["/{p}/x", "/a/x"]);
        assert_eq!(parameter_first.find(&Method::GET, "/a/x").pattern, "/{p}/x");
    }

    /// The segment matcher agrees with actix's own pattern matching on every route of the
    /// table, for paths made from every other route's pattern.
    #[test]
    fn the_matcher_agrees_with_actix_on_the_whole_table() {
        let table = crate::route_table();
        let defs: Vec<(&str, ResourceDef)> = table
            .iter()
            .map(|r| (r.path, ResourceDef::new(r.path)))
            .collect();
        let routes = Table::new(paths(table.clone()));
        let mut probes: Vec<String> = Vec::new();
        for r in &table {
            probes.push(r.path.replace('{', "x").replace('}', "").replace(":.*", ""));
            probes.push(format!("{}/", r.path.replace("{id}", "ag_1")));
            probes.push(r.path.replace("{id}", "").replace("{agent_id}", ""));
        }
        probes.extend(["/log/tile", "/log/tile/", "/log/tile/a/b", "/log", "/"].map(String::from));
        for probe in &probes {
            // As actix's resources guarded by method: the first that matches and serves
            // GET, else the first that matches (its 405).
            let matching = || defs.iter().filter(|(_, d)| d.is_match(probe));
            let actix = matching()
                .find(|(p, _)| {
                    table
                        .iter()
                        .any(|r| r.path == *p && r.method == Method::GET)
                })
                .or_else(|| matching().next())
                .map_or("unmatched", |(p, _)| p);
            assert_eq!(routes.find(&Method::GET, probe).pattern, actix, "{probe}");
        }
    }
}
