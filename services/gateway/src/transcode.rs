//! Between JSON and protobuf, by the proto3 JSON mapping: the request
//! message from a route's path, query string and body; the response
//! message as JSON (int64 as strings, enums by name, Timestamps in RFC 3339).

use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions};
use serde_json::{Map, Value};

use crate::routes::{BodyRule, Route, field_path};

/// A field of the request that cannot be what the caller sent: answered
/// INVALID_ARGUMENT with a `BadRequest` naming it, before any call is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

fn violation(field: &str, description: impl Into<String>) -> Violation {
    Violation {
        field: field.to_owned(),
        description: description.into(),
    }
}

/// What the HTTP request carries besides its route.
pub struct Parts<'a> {
    pub path_fields: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub body: &'a [u8],
    /// The caller's subject, on a `/v1/me/` route.
    pub me: Option<&'a str>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<&'a str>,
}

/// The request message, encoded, ready for the RPC.
pub fn request(route: &Route, parts: Parts<'_>) -> Result<Vec<u8>, Violation> {
    let input = route.rpc.input();
    let mut json = match &route.body {
        BodyRule::None => {
            if !parts.body.trim_ascii().is_empty() {
                return Err(violation("body", "this route takes no body"));
            }
            Map::new()
        }
        BodyRule::Whole => object(parts.body)?,
        BodyRule::Field(field) => {
            let mut map = Map::new();
            if !parts.body.trim_ascii().is_empty() {
                let value: Value =
                    serde_json::from_slice(parts.body).map_err(|e| violation("body", format!("is not JSON: {e}")))?;
                map.insert(field.clone(), value);
            }
            map
        }
    };
    for (key, value) in form_urlencoded::parse(parts.query.unwrap_or_default().as_bytes()) {
        let field = match &route.body {
            BodyRule::Whole => return Err(violation(&key, "goes in the body on this route")),
            BodyRule::Field(body) if key.split('.').next() == Some(body.as_str()) => {
                return Err(violation(&key, "goes in the body on this route"));
            }
            _ => field_path(&input, &key).ok_or_else(|| violation(&key, "is not a field of this request"))?,
        };
        let value = scalar(&field, &key, value.into_owned())?;
        set(&mut json, &input, &key, value, field.is_list(), false)?;
    }
    for (path, value) in parts.path_fields {
        let field = field_path(&input, path).ok_or_else(|| violation(path, "is not a field of this request"))?;
        let value = scalar(&field, path, value.clone())?;
        set(&mut json, &input, path, value, false, true)?;
    }
    if let Some(subject) = parts.me {
        set(
            &mut json,
            &input,
            "customer_id",
            Value::String(subject.to_owned()),
            false,
            true,
        )?;
    }
    if let Some(key) = parts.idempotency_key {
        if input.get_field_by_name("request_id").is_none() {
            return Err(violation("Idempotency-Key", "this call takes no idempotency key"));
        }
        set(
            &mut json,
            &input,
            "request_id",
            Value::String(key.to_owned()),
            false,
            true,
        )?;
    }
    let message =
        DynamicMessage::deserialize(input, Value::Object(json)).map_err(|e| violation("body", e.to_string()))?;
    Ok(message.encode_to_vec())
}

/// A response message as JSON, every field present (zero values too), so
/// an app need not know proto3's defaults.
pub fn response(output: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let message = DynamicMessage::decode(output.clone(), bytes).map_err(|e| e.to_string())?;
    let mut json = Vec::with_capacity(bytes.len() * 2 + 16);
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(&mut serde_json::Serializer::new(&mut json), &options)
        .map_err(|e| e.to_string())?;
    Ok(json)
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Violation> {
    if body.trim_ascii().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(violation("body", "must be a JSON object")),
        Err(e) => Err(violation("body", format!("is not JSON: {e}"))),
    }
}

/// A path or query value as the JSON the field's type takes: the mapping
/// accepts strings for numbers, enums and the well-known types written as
/// strings, so only booleans need converting.
fn scalar(field: &FieldDescriptor, name: &str, text: String) -> Result<Value, Violation> {
    let number = |ok: bool, what: &str| match ok {
        true => Ok(Value::String(text.clone())),
        false => Err(violation(name, format!("must be {what}"))),
    };
    if field.is_map() {
        return Err(violation(name, "cannot be given in the path or the query string"));
    }
    match field.kind() {
        Kind::Bool => match text.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(violation(name, "must be true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => number(text.parse::<i32>().is_ok(), "a 32-bit integer"),
        Kind::Uint32 | Kind::Fixed32 => number(text.parse::<u32>().is_ok(), "an unsigned 32-bit integer"),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => number(text.parse::<i64>().is_ok(), "a 64-bit integer"),
        Kind::Uint64 | Kind::Fixed64 => number(text.parse::<u64>().is_ok(), "an unsigned 64-bit integer"),
        Kind::Float | Kind::Double => number(
            matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity") || text.parse::<f64>().is_ok_and(f64::is_finite),
            "a number",
        ),
        // An enum by name, or by number as the mapping allows.
        Kind::Enum(e) => match text.parse::<i32>() {
            Ok(n) => Ok(Value::from(n)),
            Err(_) if e.get_value_by_name(&text).is_some() => Ok(Value::String(text)),
            Err(_) => Err(violation(
                name,
                format!(
                    "must be one of {}",
                    e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>().join(", ")
                ),
            )),
        },
        Kind::Message(m) if !written_as_string(&m) => {
            Err(violation(name, "cannot be given in the path or the query string"))
        }
        _ => Ok(Value::String(text)),
    }
}

fn written_as_string(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.BytesValue"
    )
}

/// Sets a dotted field path in the JSON request, creating the messages on
/// the way. `list` appends (a repeated query parameter); `fixed` is a value
/// the caller's body may repeat but not contradict (a path variable, the
/// caller's own id, the idempotency key).
fn set(
    json: &mut Map<String, Value>,
    message: &MessageDescriptor,
    path: &str,
    value: Value,
    list: bool,
    fixed: bool,
) -> Result<(), Violation> {
    let mut map = json;
    let mut message = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = message
            .get_field_by_name(part)
            .or_else(|| message.get_field_by_json_name(part))
            .ok_or_else(|| violation(path, "is not a field of this request"))?;
        // The body may name a field by its proto name or its JSON name.
        // Both spellings are taken out, so no copy under the other name can
        // slip past this check to the decoder (where the last one read wins).
        let by_name = map.remove(field.name());
        let by_json_name = map.remove(field.json_name());
        let existing = match (by_name, by_json_name) {
            (Some(_), Some(_)) if field.name() != field.json_name() => {
                return Err(violation(path, "is given twice (by its proto and its JSON name)"));
            }
            (Some(v), _) | (None, Some(v)) => Some(v),
            (None, None) => None,
        };
        // `null` is the field's default: as good as absent.
        let existing = existing.filter(|v| !v.is_null());
        if parts.peek().is_none() {
            let value = match (existing, list) {
                (Some(Value::Array(mut items)), true) => {
                    items.push(value);
                    Value::Array(items)
                }
                (None, true) => Value::Array(vec![value]),
                (Some(old), false) if fixed && old != value => {
                    return Err(violation(path, "differs from the value the path or header gives"));
                }
                (Some(_), _) if !fixed => return Err(violation(path, "is given twice")),
                (_, _) => value,
            };
            map.insert(field.name().to_owned(), value);
            return Ok(());
        }
        let next = match existing {
            Some(Value::Object(inner)) => inner,
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(violation(path, "must be an object")),
        };
        map.insert(field.name().to_owned(), Value::Object(next));
        let Some(Value::Object(inner)) = map.get_mut(field.name()) else {
            unreachable!("inserted just above");
        };
        map = inner;
        message = field
            .kind()
            .as_message()
            .cloned()
            .ok_or_else(|| violation(path, "is not a field of this request"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;
    use crate::routes::{Found, find, from_pool};

    fn routes() -> Vec<Route> {
        let pool = DescriptorPool::decode(aftercare_proto::FILE_DESCRIPTOR_SET).unwrap();
        from_pool(
            &pool,
            &[
                "aftercare.returns.v1.ReturnService",
                "aftercare.loyalty.v1.LoyaltyService",
                "aftercare.maintenance.v1.MaintenanceService",
            ],
        )
        .unwrap()
    }

    fn build(
        method: http::Method,
        path: &str,
        query: Option<&str>,
        body: &str,
        key: Option<&str>,
    ) -> Result<DynamicMessage, Violation> {
        let routes = routes();
        let Found::Route(route, fields) = find(&routes, &method, path) else {
            panic!("{path} is a route");
        };
        let parts = Parts {
            path_fields: &fields,
            query,
            body: body.as_bytes(),
            me: route.me.then_some("C-1"),
            idempotency_key: key,
        };
        let bytes = request(route, parts)?;
        Ok(DynamicMessage::decode(route.rpc.input(), bytes.as_slice()).unwrap())
    }

    fn text(message: &DynamicMessage, field: &str) -> String {
        message.get_field_by_name(field).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn path_query_body_and_header_make_the_request() {
        let m = build(http::Method::POST, "/v1/returns/R-1/refund", None, "", Some("key-1")).unwrap();
        assert_eq!(text(&m, "return_id"), "R-1");
        assert_eq!(text(&m, "request_id"), "key-1");
        let m = build(
            http::Method::GET,
            "/v1/returns",
            Some("customer_id=C-2&page_size=5&status=RETURN_STATUS_APPROVED"),
            "",
            None,
        )
        .unwrap();
        assert_eq!(text(&m, "customer_id"), "C-2");
        assert_eq!(m.get_field_by_name("page_size").unwrap().as_i32(), Some(5));
        // Enums by number too, as the JSON mapping allows.
        let m = build(http::Method::GET, "/v1/returns", Some("status=2"), "", None).unwrap();
        assert_eq!(m.get_field_by_name("status").unwrap().as_enum_number(), Some(2));
        // A path value the body repeats (or leaves null) is fine.
        let m = build(
            http::Method::POST,
            "/v1/returns/R-1:approve",
            None,
            r#"{"returnId":"R-1"}"#,
            None,
        )
        .unwrap();
        assert_eq!(text(&m, "return_id"), "R-1");
        build(
            http::Method::POST,
            "/v1/returns/R-1:approve",
            None,
            r#"{"return_id":null}"#,
            None,
        )
        .unwrap();
        // camelCase and proto names are both accepted in a body.
        let m = build(
            http::Method::POST,
            "/v1/returns/R-1/messages",
            None,
            r#"{"text":"hi","requestId":"k"}"#,
            None,
        )
        .unwrap();
        assert_eq!(text(&m, "request_id"), "k");
        // The caller's own id on /v1/me/ routes.
        let m = build(http::Method::GET, "/v1/me/points", None, "", None).unwrap();
        assert_eq!(text(&m, "customer_id"), "C-1");
        // A nested path variable.
        let m = build(
            http::Method::PUT,
            "/v1/maintenance/preferences/C-7",
            None,
            r#"{"source":"app"}"#,
            None,
        )
        .unwrap();
        let prefs = m.get_field_by_name("preferences").unwrap();
        assert_eq!(
            prefs
                .as_message()
                .unwrap()
                .get_field_by_name("customer_id")
                .unwrap()
                .as_str(),
            Some("C-7")
        );
    }

    #[test]
    fn contradictions_and_strangers_are_refused() {
        let err = |m, p, q, b: &str, k| build(m, p, q, b, k).unwrap_err().field;
        use http::Method;
        assert_eq!(
            err(
                Method::POST,
                "/v1/returns/R-1:approve",
                None,
                r#"{"return_id":"R-2"}"#,
                None
            ),
            "return_id"
        );
        assert_eq!(
            err(Method::GET, "/v1/me/points", Some("customer_id=C-9"), "", None),
            "customer_id"
        );
        assert_eq!(
            err(
                Method::POST,
                "/v1/returns/R-1/refund",
                None,
                r#"{"requestId":"a"}"#,
                Some("b")
            ),
            "request_id"
        );
        assert_eq!(
            err(Method::POST, "/v1/returns/R-1:approve", None, "", Some("k")),
            "Idempotency-Key"
        );
        assert_eq!(err(Method::GET, "/v1/returns", Some("nope=1"), "", None), "nope");
        assert_eq!(
            err(Method::GET, "/v1/returns", Some("page_size=x"), "", None),
            "page_size"
        );
        assert_eq!(
            err(Method::GET, "/v1/returns", Some("page_size=99999999999"), "", None),
            "page_size"
        );
        assert_eq!(
            err(Method::GET, "/v1/returns", Some("status=SHIPPED"), "", None),
            "status"
        );
        // The same field under both its names cannot smuggle a second value.
        let both = r#"{"customer_id":"C-1","customerId":"C-9"}"#;
        assert_eq!(
            err(Method::POST, "/v1/me/points:quoteRedemption", None, both, None),
            "customer_id"
        );
        let both = r#"{"preferences":{"customerId":"C-9"},"source":"app"}"#;
        assert_eq!(
            err(Method::PUT, "/v1/maintenance/preferences/C-7", None, both, None),
            "preferences.customer_id"
        );
        assert_eq!(err(Method::GET, "/v1/returns/R-1", None, "{}", None), "body");
        assert_eq!(err(Method::POST, "/v1/returns/R-1:approve", None, "[1]", None), "body");
        assert_eq!(
            err(Method::POST, "/v1/returns/R-1:approve", None, r#"{"unknown":1}"#, None),
            "body"
        );
        assert_eq!(
            err(Method::POST, "/v1/returns/R-1:approve", Some("note=x"), "", None),
            "note"
        );
        assert_eq!(
            err(Method::GET, "/v1/returns", Some("page_size=1&page_size=2"), "", None),
            "page_size"
        );
    }

    #[test]
    fn responses_use_the_proto3_json_mapping() {
        let pool = DescriptorPool::decode(aftercare_proto::FILE_DESCRIPTOR_SET).unwrap();
        let account = pool.get_message_by_name("aftercare.loyalty.v1.Account").unwrap();
        let mut m = DynamicMessage::new(account.clone());
        m.set_field_by_name("customer_id", prost_reflect::Value::String("C-1".into()));
        let json: Value = serde_json::from_slice(&response(&account, &m.encode_to_vec()).unwrap()).unwrap();
        assert_eq!(json["customerId"], "C-1");
        // Zero values are present; 64-bit integers are strings.
        let int64 = account
            .fields()
            .find(|f| matches!(f.kind(), Kind::Int64) && !f.is_list())
            .expect("an account has a 64-bit count");
        assert_eq!(json[int64.json_name()], "0");
    }
}
