//! The REST routes, read from the contracts' `google.api.http` options:
//! each binds an HTTP method and a path template to one unary RPC. Nothing
//! here is written by hand per RPC; a new annotated RPC is a new route.

use http::Method;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value};

/// One HTTP binding of an RPC.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub template: Template,
    pub body: BodyRule,
    pub rpc: MethodDescriptor,
    /// `/package.Service/Method`: where the call goes in process.
    pub grpc_path: String,
    /// Under `/v1/me/`: the caller's own resources, so the gateway fills
    /// the request's `customer_id` with the token's subject.
    pub me: bool,
}

/// Where the request message's fields come from besides the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRule {
    /// No body; every field not in the path from the query string.
    None,
    /// `body: "*"`: the JSON body is the request, less the path's fields.
    Whole,
    /// `body: "field"`: the JSON body is that field; the rest from the query.
    Field(String),
}

/// A path template: `/v1/returns/{return_id}:approve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
    /// A custom method after the last segment (`approve`).
    pub verb: Option<String>,
    /// As written in the contract, for the OpenAPI document.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// A request field by its proto path (`policy.category`).
    Field(String),
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| format!("{text:?} does not start with /"))?;
        // A custom verb follows the last segment's closing brace or literal.
        let (path, verb) = match rest.rsplit_once(':') {
            Some((path, verb)) if !verb.contains('}') && !verb.contains('/') => (path, Some(verb.to_owned())),
            _ => (rest, None),
        };
        let segments = path
            .split('/')
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(field)
                    if !field.is_empty()
                        && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
                {
                    Ok(Segment::Field(field.to_owned()))
                }
                Some(_) => Err(format!("{text:?}: only {{field}} variables are supported")),
                None if s.is_empty() || s.contains(['{', '}', '*']) => Err(format!("{text:?}: bad segment {s:?}")),
                None => Ok(Segment::Literal(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Template {
            segments,
            verb,
            text: text.to_owned(),
        })
    }

    /// The path's field values, percent-decoded, when `path` matches.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let rest = path.strip_prefix('/')?;
        let rest = match &self.verb {
            Some(verb) => rest.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => rest,
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut fields = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            let decoded = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
            match segment {
                Segment::Literal(l) if *l == decoded => {}
                Segment::Literal(_) => return None,
                Segment::Field(_) if decoded.is_empty() => return None,
                Segment::Field(f) => fields.push((f.clone(), decoded.into_owned())),
            }
        }
        Some(fields)
    }

    /// How specific the template is: a literal beats a variable in the same
    /// place, so `/v1/me/points` wins over `/v1/{x}/points`.
    fn literals(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
            + usize::from(self.verb.is_some())
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(f.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// Every route of the unary RPCs of `services` (full gRPC names).
pub fn from_pool(pool: &DescriptorPool, services: &[&str]) -> Result<Vec<Route>, String> {
    let http = pool
        .get_extension_by_name("google.api.http")
        .ok_or("the contracts do not import google/api/annotations.proto")?;
    let mut routes = Vec::new();
    for name in services {
        let service = pool
            .get_service_by_name(name)
            .ok_or_else(|| format!("{name} is not in the contracts"))?;
        for rpc in service.methods() {
            let options = rpc.options();
            if !options.has_extension(&http) {
                continue;
            }
            if rpc.is_client_streaming() || rpc.is_server_streaming() {
                return Err(format!("{}: streaming RPCs have no REST binding", rpc.full_name()));
            }
            let Value::Message(rule) = options.get_extension(&http).into_owned() else {
                return Err(format!("{}: google.api.http is not a message", rpc.full_name()));
            };
            routes.push(route(&rpc, &rule)?);
            if let Some(Value::List(more)) = rule.get_field_by_name("additional_bindings").map(|v| v.into_owned()) {
                for binding in more {
                    if let Value::Message(binding) = binding {
                        routes.push(route(&rpc, &binding)?);
                    }
                }
            }
        }
    }
    check_unambiguous(&routes)?;
    Ok(routes)
}

fn route(rpc: &MethodDescriptor, rule: &DynamicMessage) -> Result<Route, String> {
    let text = |field: &str| match rule.get_field_by_name(field).map(|v| v.into_owned()) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let (method, path) = [
        (Method::GET, "get"),
        (Method::PUT, "put"),
        (Method::POST, "post"),
        (Method::DELETE, "delete"),
        (Method::PATCH, "patch"),
    ]
    .into_iter()
    .find_map(|(method, field)| rule.has_field_by_name(field).then(|| (method, text(field))))
    .ok_or_else(|| format!("{}: a binding without get/put/post/delete/patch", rpc.full_name()))?;
    let template = Template::parse(&path).map_err(|e| format!("{}: {e}", rpc.full_name()))?;
    let input = rpc.input();
    for field in template.fields() {
        match field_path(&input, field) {
            None => return Err(format!("{}: {path} names no field {field}", rpc.full_name())),
            // A path segment holds one value written as text.
            Some(f) if f.is_list() || f.is_map() || matches!(f.kind(), prost_reflect::Kind::Message(_)) => {
                return Err(format!("{}: {path}: {field} is not a single scalar", rpc.full_name()));
            }
            Some(_) => {}
        }
    }
    let body = match text("body").as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        field if input.get_field_by_name(field).is_some() => BodyRule::Field(field.to_owned()),
        field => return Err(format!("{}: body names no field {field}", rpc.full_name())),
    };
    let me = path.starts_with("/v1/me/");
    if me && input.get_field_by_name("customer_id").is_none() {
        return Err(format!(
            "{}: a /v1/me/ route needs a customer_id field",
            rpc.full_name()
        ));
    }
    Ok(Route {
        method,
        template,
        body,
        grpc_path: format!("/{}/{}", rpc.parent_service().full_name(), rpc.name()),
        rpc: rpc.clone(),
        me,
    })
}

/// The field a dotted proto path names, through singular message fields.
pub fn field_path(message: &prost_reflect::MessageDescriptor, path: &str) -> Option<prost_reflect::FieldDescriptor> {
    let mut message = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = message
            .get_field_by_name(part)
            .or_else(|| message.get_field_by_json_name(part))?;
        if parts.peek().is_none() {
            return Some(field);
        }
        if field.is_list() || field.is_map() {
            return None;
        }
        message = field.kind().as_message()?.clone();
    }
    None
}

/// Two routes that would match the same requests with the same specificity
/// are a contract mistake, found at start-up rather than by a caller.
fn check_unambiguous(routes: &[Route]) -> Result<(), String> {
    for (i, a) in routes.iter().enumerate() {
        for b in &routes[i + 1..] {
            let same_shape = a.method == b.method
                && a.template.verb == b.template.verb
                && a.template.segments.len() == b.template.segments.len()
                && a.template
                    .segments
                    .iter()
                    .zip(&b.template.segments)
                    .all(|pair| match pair {
                        (Segment::Literal(x), Segment::Literal(y)) => x == y,
                        (Segment::Field(_), Segment::Field(_)) => true,
                        _ => false,
                    });
            if same_shape {
                return Err(format!(
                    "{} {} and {} both match the same paths",
                    a.method, a.template.text, b.template.text
                ));
            }
        }
    }
    Ok(())
}

/// What a request's method and path resolve to.
pub enum Found<'a> {
    Route(&'a Route, Vec<(String, String)>),
    /// The path exists under other methods.
    WrongMethod(Vec<Method>),
    None,
}

pub fn find<'a>(routes: &'a [Route], method: &Method, path: &str) -> Found<'a> {
    let mut best: Option<(&Route, Vec<(String, String)>)> = None;
    let mut allowed = Vec::new();
    for route in routes {
        let Some(fields) = route.template.matches(path) else {
            continue;
        };
        if route.method != *method {
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(b, _)| route.template.literals() > b.template.literals())
        {
            best = Some((route, fields));
        }
    }
    match best {
        Some((route, fields)) => Found::Route(route, fields),
        None if !allowed.is_empty() => Found::WrongMethod(allowed),
        None => Found::None,
    }
}

/// Every route of every service in the contracts.
#[cfg(test)]
pub(crate) fn all_routes() -> (DescriptorPool, Vec<Route>) {
    let pool = crate::descriptors();
    let services: Vec<String> = pool
        .services()
        .filter(|s| s.package_name().starts_with("aftercare."))
        .map(|s| s.full_name().to_owned())
        .collect();
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let routes = from_pool(&pool, &names).unwrap();
    (pool, routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_match() {
        let t = Template::parse("/v1/returns/{return_id}:approve").unwrap();
        assert_eq!(t.verb.as_deref(), Some("approve"));
        assert_eq!(
            t.matches("/v1/returns/R-1:approve"),
            Some(vec![("return_id".into(), "R-1".into())])
        );
        assert_eq!(t.matches("/v1/returns/R-1"), None);
        assert_eq!(t.matches("/v1/returns/R-1:reject"), None);
        assert_eq!(
            t.matches("/v1/returns/:approve"),
            None,
            "an empty variable matches nothing"
        );
        let t = Template::parse("/v1/return-policies/{policy.category}").unwrap();
        assert_eq!(
            t.matches("/v1/return-policies/home%20%26%20garden"),
            Some(vec![("policy.category".into(), "home & garden".into())])
        );
        assert_eq!(t.matches("/v1/return-policies/a/b"), None);
        assert_eq!(t.matches("/v1/return-policies/%FF"), None, "not UTF-8");
        for bad in ["v1/x", "/v1/{x=**}", "/v1//x", "/v1/{}", "/v1/*"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_contract_route_is_read_and_none_is_ambiguous() {
        let (pool, routes) = all_routes();
        // Every unary RPC has at least one binding.
        for service in pool.services().filter(|s| s.package_name().starts_with("aftercare.")) {
            for rpc in service
                .methods()
                .filter(|m| !m.is_server_streaming() && !m.is_client_streaming())
            {
                assert!(
                    routes.iter().any(|r| r.rpc == rpc),
                    "{} has no google.api.http binding",
                    rpc.full_name()
                );
            }
        }
        let Found::Route(route, fields) = find(&routes, &Method::GET, "/v1/returns/R-9") else {
            panic!("GET /v1/returns/{{return_id}} is a route");
        };
        assert_eq!(route.grpc_path, "/aftercare.returns.v1.ReturnService/GetReturn");
        assert_eq!(fields, vec![("return_id".to_owned(), "R-9".to_owned())]);
        let Found::Route(route, _) = find(&routes, &Method::GET, "/v1/me/points") else {
            panic!("GET /v1/me/points is a route");
        };
        assert!(route.me);
        assert!(matches!(
            find(&routes, &Method::DELETE, "/v1/returns/R-9"),
            Found::WrongMethod(m) if m == vec![Method::GET]
        ));
        assert!(matches!(find(&routes, &Method::GET, "/v1/nothing"), Found::None));
    }
}
