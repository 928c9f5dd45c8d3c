//! The OpenAPI 3.1 document of the REST routes, generated from the same
//! descriptors the gateway routes by: paths from the `google.api.http`
//! bindings, schemas from the messages in their proto3 JSON form, and the
//! contracts' comments as descriptions. `proto/openapi.json` is this
//! document, checked in; a test fails when the contracts move on without it.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::routes::{BodyRule, Route};

/// The document of `services`' routes, pretty-printed, as checked in.
pub fn json(services: &[&str]) -> Result<String, String> {
    let routes = crate::routes::from_pool(&crate::descriptors(), services)?;
    Ok(serde_json::to_string_pretty(&document(&routes)).map_err(|e| e.to_string())? + "\n")
}

/// The document, deterministic for the same contracts (sorted keys).
pub fn document(routes: &[Route]) -> Value {
    let mut schemas = Schemas::default();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for route in routes {
        let base = format!("{}_{}", route.rpc.parent_service().name(), route.rpc.name());
        let n = ids.entry(base.clone()).or_default();
        *n += 1;
        let operation_id = if *n == 1 { base } else { format!("{base}_{n}") };
        let operation = operation(route, operation_id, &mut schemas);
        paths
            .entry(openapi_path(&route.template.text))
            .or_default()
            .insert(route.method.as_str().to_ascii_lowercase(), operation);
    }
    paths
        .entry(crate::overview::PATH.to_owned())
        .or_default()
        .insert("get".into(), overview(&mut schemas));
    let mut components = schemas.done();
    components.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "An error as AIP-193 describes it: the gRPC status, its HTTP code and its details.",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message", "status", "details"],
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status code."},
                    "message": {"type": "string"},
                    "status": {"type": "string", "description": "The gRPC code's name (INVALID_ARGUMENT)."},
                    "details": {"type": "array", "items": {
                        "type": "object",
                        "required": ["@type"],
                        "properties": {"@type": {"type": "string"}}
                    }}
                }
            }}
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "aftercare",
            "version": "v1",
            "description": "aftercare's REST/JSON gateway: the gRPC contracts' RPCs bound by their google.api.http options, in the proto3 JSON mapping (64-bit integers as strings, enums by name, timestamps in RFC 3339). Every call takes a bearer token.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": components,
        },
    })
}

/// A template as an OpenAPI path: a nested field's variable
/// (`{policy.category}`) is named by its last part (`{category}`), since
/// tools read a dot in a parameter's name as an attribute, and OpenAPI
/// forbids two paths that differ only in their variables' names (the GET
/// of `/v1/return-policies/{category}` and the PATCH of `{policy.category}`
/// are one path). The path matched is the same.
fn openapi_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match (segment.find('{'), segment.find('}')) {
            (Some(open), Some(close)) => {
                let name = parameter_name(&segment[open + 1..close]);
                format!("{}{{{name}}}{}", &segment[..open], &segment[close + 1..])
            }
            _ => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn parameter_name(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// `/v1/me/overview`, composed by the gateway rather than bound to an RPC.
fn overview(schemas: &mut Schemas) -> Value {
    let mut message = |name: &str| {
        let desc = crate::descriptors()
            .get_message_by_name(name)
            .expect("the overview's messages are in the contracts");
        schemas.message_ref(&desc)
    };
    let section = |key: &str, schema: Value| {
        json!({
            "type": "object",
            "required": ["available"],
            "properties": {
                "available": {"type": "boolean"},
                "reason": {"type": "string", "description": "Why the section is missing: NOT_SERVED, DEADLINE_EXCEEDED, UNAVAILABLE, PERMISSION_DENIED, RESOURCE_EXHAUSTED."},
                key: schema,
            }
        })
    };
    let returns = section(
        "open",
        json!({"type": "array", "items": message("aftercare.returns.v1.Return")}),
    );
    let claims = section(
        "open",
        json!({"type": "array", "items": message("aftercare.warranty.v1.Claim")}),
    );
    let points = section("account", message("aftercare.loyalty.v1.Account"));
    let upcoming = section(
        "upcoming",
        json!({"type": "array", "items": message("aftercare.maintenance.v1.Schedule")}),
    );
    json!({
        "operationId": "Gateway_GetOverview",
        "tags": ["Gateway"],
        "summary": "The caller's after-sales at a glance.",
        "description": "Open returns and warranty claims (each with its next step), points and tier, and the next maintenance due, from four calls made at once under one deadline. A section whose service is slow, failing or not served is marked unavailable with a reason; the rest of the answer stands. Customer tokens only; it costs one call of the caller's rate limit. When no section can be read at all: 503.",
        "parameters": [],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["customerId", "returns", "claims", "points", "maintenance"],
                "properties": {
                    "customerId": {"type": "string"},
                    "returns": returns,
                    "claims": claims,
                    "points": points,
                    "maintenance": upcoming,
                }
            }}}},
            "default": {"description": "An error (AIP-193).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    })
}

fn operation(route: &Route, operation_id: String, schemas: &mut Schemas) -> Value {
    let input = route.rpc.input();
    let path_fields: BTreeSet<&str> = route.template.fields().collect();
    let mut parameters = Vec::new();
    for field in route.template.fields() {
        let schema = crate::routes::field_path(&input, field)
            .map(|f| schemas.scalar(&f))
            .unwrap_or_else(|| json!({"type": "string"}));
        let mut parameter = json!({"name": parameter_name(field), "in": "path", "required": true, "schema": schema});
        if field.contains('.') {
            parameter["description"] = Value::String(format!("The request's `{field}`."));
        }
        parameters.push(parameter);
    }
    // Fields the caller does not give: the path's, and their own id on a
    // `/v1/me/` route.
    let given_elsewhere =
        |f: &FieldDescriptor| path_fields.contains(f.name()) || (route.me && f.name() == "customer_id");
    let body_field = match &route.body {
        BodyRule::Field(f) => Some(f.as_str()),
        _ => None,
    };
    if route.body != BodyRule::Whole {
        for field in input.fields() {
            if given_elsewhere(&field) || Some(field.name()) == body_field || !Schemas::queryable(&field) {
                continue;
            }
            let mut parameter = json!({"name": field.name(), "in": "query", "schema": schemas.field(&field)});
            if let Some(text) = comment(&field.parent_file(), field.path()) {
                parameter["description"] = Value::String(text);
            }
            parameters.push(parameter);
        }
    }
    if input.get_field_by_name("request_id").is_some() && route.method != http::Method::GET {
        parameters.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "description": "The request's request_id: a retry with the same key has the first call's effect once.",
            "schema": {"type": "string"},
        }));
    }
    let mut op = json!({
        "operationId": operation_id,
        "tags": [route.rpc.parent_service().name()],
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schemas.message_ref(&route.rpc.output())}}},
            "default": {"description": "An error (AIP-193).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    });
    if let Some(text) = comment(&route.rpc.parent_file(), route.rpc.path()) {
        op["summary"] = Value::String(first_sentence(&text));
        op["description"] = Value::String(text);
    }
    let body_schema = match &route.body {
        BodyRule::None => None,
        BodyRule::Whole => Some(schemas.object(&input, &|f| given_elsewhere(f))),
        BodyRule::Field(f) => input.get_field_by_name(f).map(|f| schemas.field(&f)),
    };
    if let Some(schema) = body_schema {
        op["requestBody"] = json!({"content": {"application/json": {"schema": schema}}});
    }
    op
}

/// The message schemas the document refers to, by full name.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
    pending: Vec<MessageDescriptor>,
}

impl Schemas {
    fn done(mut self) -> Map<String, Value> {
        while let Some(message) = self.pending.pop() {
            if self.done.contains_key(message.full_name()) {
                continue;
            }
            // Reserve the name first: a message may contain itself.
            self.done.insert(message.full_name().to_owned(), Value::Null);
            let schema = self.object(&message, &|_| false);
            self.done.insert(message.full_name().to_owned(), schema);
        }
        self.done.into_iter().collect()
    }

    fn message_ref(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known(message) {
            return schema;
        }
        if !self.done.contains_key(message.full_name()) {
            self.pending.push(message.clone());
        }
        json!({"$ref": format!("#/components/schemas/{}", message.full_name())})
    }

    fn object(&mut self, message: &MessageDescriptor, skip: &dyn Fn(&FieldDescriptor) -> bool) -> Value {
        let mut properties = Map::new();
        for field in message.fields().filter(|f| !skip(f)) {
            let mut schema = self.field(&field);
            if let Some(text) = comment(&field.parent_file(), field.path()) {
                schema = match schema {
                    Value::Object(mut map) if !map.contains_key("$ref") => {
                        map.insert("description".into(), Value::String(text));
                        Value::Object(map)
                    }
                    // A reference takes no siblings in every tool: wrap it.
                    other => json!({"allOf": [other], "description": text}),
                };
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut schema = json!({"type": "object", "properties": properties});
        if let Some(text) = comment(&message.parent_file(), message.path()) {
            schema["description"] = Value::String(text);
        }
        schema
    }

    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map() {
            let entry = field.kind();
            let value = entry.as_message().and_then(|m| m.get_field_by_name("value"));
            let value = value.map(|v| self.field(&v)).unwrap_or_else(|| json!({}));
            return json!({"type": "object", "additionalProperties": value});
        }
        let one = self.kind(&field.kind());
        if field.is_list() {
            json!({"type": "array", "items": one})
        } else {
            one
        }
    }

    fn scalar(&mut self, field: &FieldDescriptor) -> Value {
        self.kind(&field.kind())
    }

    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"type": "number"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
            Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"})
            }
            Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "pattern": "^[0-9]+$"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "format": "byte"}),
            Kind::Enum(e) => {
                json!({"type": "string", "enum": e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>()})
            }
            Kind::Message(m) => self.message_ref(m),
        }
    }

    /// Whether a field can be given in the query string: a scalar, an enum,
    /// a message written as a string, or a list of those.
    fn queryable(field: &FieldDescriptor) -> bool {
        !field.is_map()
            && match field.kind() {
                Kind::Message(m) => well_known(&m).is_some_and(|s| s["type"] == "string"),
                _ => true,
            }
    }
}

/// The well-known types' JSON forms.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"}),
        "google.protobuf.FieldMask" => json!({"type": "string"}),
        "google.protobuf.StringValue" | "google.protobuf.BytesValue" => json!({"type": "string"}),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => {
            json!({"type": "string", "pattern": "^-?[0-9]+$"})
        }
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => json!({"type": "integer"}),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!({"type": "number"}),
        "google.protobuf.BoolValue" => json!({"type": "boolean"}),
        "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array"}),
        "google.protobuf.Any" => {
            json!({"type": "object", "required": ["@type"], "properties": {"@type": {"type": "string"}}})
        }
        _ => return None,
    })
}

/// A comment's first sentence, on one line.
fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..=end].to_owned(),
        None => flat,
    }
}

/// The comment before a declaration, from the file's source info.
fn comment(file: &prost_reflect::FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let text = text.lines().map(str::trim).collect::<Vec<_>>().join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_routes() -> Vec<Route> {
        crate::routes::all_routes().1
    }

    /// The checked-in document is what the contracts give: regenerate it
    /// with `cargo run -- openapi > proto/openapi.json` after changing them.
    #[test]
    fn the_checked_in_document_matches_the_contracts() {
        let generated = serde_json::to_string_pretty(&document(&all_routes())).unwrap() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto/openapi.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "proto/openapi.json is out of date: run `cargo run -- openapi > proto/openapi.json`"
        );
    }

    #[test]
    fn the_document_describes_routes_and_schemas() {
        let doc = document(&all_routes());
        let get = &doc["paths"]["/v1/returns/{return_id}"]["get"];
        assert_eq!(get["operationId"], "ReturnService_GetReturn");
        assert_eq!(get["parameters"][0]["in"], "path");
        let create = &doc["paths"]["/v1/orders/{order_id}/returns"]["post"];
        assert_eq!(create["summary"], "Requests a return.", "comments become descriptions");
        assert!(create["requestBody"]["content"]["application/json"]["schema"]["properties"]["items"].is_object());
        assert!(
            create["requestBody"]["content"]["application/json"]["schema"]["properties"]["orderId"].is_null(),
            "the path's fields are not asked for again in the body"
        );
        assert_eq!(create["parameters"][1]["name"], "Idempotency-Key");
        let schema = &doc["components"]["schemas"]["aftercare.returns.v1.Return"];
        assert_eq!(schema["type"], "object");
        // Every reference resolves.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is referenced but not defined"
            );
        }
        // OpenAPI's rule: no two paths the same but for their variables'
        // names, and every variable a path parameter of each operation.
        let mut shapes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let shape: String = path
                .split('{')
                .map(|part| part.split_once('}').map_or(part, |(_, rest)| rest))
                .collect::<Vec<_>>()
                .join("{}");
            assert!(shapes.insert(shape), "{path} differs from another path only in names");
            let variables: BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .map(|part| part.split('}').next().unwrap())
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let declared: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(declared, variables, "{method} {path}");
            }
        }
        // A /v1/me/ route does not ask for the caller's id.
        let me = &doc["paths"]["/v1/me/returns"]["get"]["parameters"];
        assert!(!me.to_string().contains("\"customer_id\""));
    }
}
