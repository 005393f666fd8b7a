//! The checked-in `schema.graphql` is what `accord schema` prints.

#[test]
fn the_checked_in_schema_is_current() {
    let checked_in = include_str!("../../schema.graphql");
    assert!(
        checked_in == api::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

/// `withinTargetShare` has one definition, and both fields that report it say so word for word.
#[test]
fn within_target_share_is_described_the_same_way_wherever_it_is_reported() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(api::sdl()).expect("the SDL parses");
    let mut described = Vec::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else { continue };
        let TypeKind::Object(object) = ty.node.kind else { continue };
        for field in object.fields.into_iter().filter(|f| f.node.name.node == "withinTargetShare") {
            let description = field.node.description.map(|d| d.node).unwrap_or_default();
            described.push((ty.node.name.node.to_string(), description));
        }
    }
    let types: Vec<&str> = described.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(types, ["HandoverCompliance", "SlaCompliance"]);
    for (name, description) in &described {
        assert!(description.contains(api::handover::reports::WITHIN_TARGET_SHARE), "{name}: {description}");
    }
}

/// Types, fields, input fields, arguments and enum values of an SDL document, one line each.
fn sdl_members(sdl: &str) -> std::collections::BTreeSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).expect("the SDL parses");
    let mut members = std::collections::BTreeSet::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else { continue };
        let name = ty.node.name.node.to_string();
        let (kind, fields, inputs, values) = match ty.node.kind {
            TypeKind::Object(o) => ("OBJECT", o.fields, vec![], vec![]),
            TypeKind::Interface(i) => ("INTERFACE", i.fields, vec![], vec![]),
            TypeKind::InputObject(i) => ("INPUT_OBJECT", vec![], i.fields, vec![]),
            TypeKind::Enum(e) => ("ENUM", vec![], vec![], e.values),
            TypeKind::Union(_) => ("UNION", vec![], vec![], vec![]),
            TypeKind::Scalar => ("SCALAR", vec![], vec![], vec![]),
        };
        members.insert(format!("{kind} {name}"));
        for field in fields {
            let field = field.node;
            members.insert(format!("{name}.{}: {}", field.name.node, field.ty.node));
            for arg in field.arguments {
                members.insert(format!("{name}.{}({}: {})", field.name.node, arg.node.name.node, arg.node.ty.node));
            }
        }
        for input in inputs {
            members.insert(format!("{name}.{}: {}", input.node.name.node, input.node.ty.node));
        }
        for value in values {
            members.insert(format!("{name}.{}", value.node.value.node));
        }
    }
    members
}

/// A type reference of an introspection result (`{kind, name, ofType}`) as SDL text.
fn type_ref(ty: &serde_json::Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&ty["ofType"])),
        _ => ty["name"].as_str().expect("a named type").to_owned(),
    }
}

/// The same lines from an introspection result.
fn introspection_members(schema: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let mut members = std::collections::BTreeSet::new();
    let empty = Vec::new();
    for ty in schema["types"].as_array().expect("types") {
        let name = ty["name"].as_str().expect("a name");
        let kind = ty["kind"].as_str().expect("a kind");
        if name.starts_with("__") || (kind == "SCALAR" && ["String", "Int", "Float", "Boolean", "ID"].contains(&name)) {
            continue;
        }
        members.insert(format!("{kind} {name}"));
        for field in ty["fields"].as_array().unwrap_or(&empty) {
            let field_name = field["name"].as_str().expect("a field name");
            members.insert(format!("{name}.{field_name}: {}", type_ref(&field["type"])));
            for arg in field["args"].as_array().unwrap_or(&empty) {
                members.insert(format!(
                    "{name}.{field_name}({}: {})",
                    arg["name"].as_str().unwrap(),
                    type_ref(&arg["type"])
                ));
            }
        }
        for input in ty["inputFields"].as_array().unwrap_or(&empty) {
            members.insert(format!("{name}.{}: {}", input["name"].as_str().unwrap(), type_ref(&input["type"])));
        }
        for value in ty["enumValues"].as_array().unwrap_or(&empty) {
            members.insert(format!("{name}.{}", value["name"].as_str().unwrap()));
        }
    }
    members
}

/// graphql-js's own introspection query, every option on, runs at the default limits and
/// describes exactly the checked-in schema: what codegen and schema tools load.
#[tokio::test]
async fn the_standard_introspection_query_loads_the_schema() {
    use crate::common::*;
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let query = include_str!("../fixtures/introspection-graphql-16.15.0.graphql");
    for token in [None, Some(org.admin.token.as_str())] {
        let response =
            app.post(token, &serde_json::json!({ "query": query, "operationName": "IntrospectionQuery" })).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert!(body.get("errors").is_none(), "{body}");
        let schema = &body["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        assert_eq!(schema["mutationType"]["name"], "Mutation");
        let from_server = introspection_members(schema);
        let checked_in = sdl_members(include_str!("../../schema.graphql"));
        let missing: Vec<_> = checked_in.difference(&from_server).collect();
        let extra: Vec<_> = from_server.difference(&checked_in).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
        // Descriptions come along (the option is on).
        let lead = schema["types"].as_array().unwrap().iter().find(|t| t["name"] == "Lead").expect("Lead");
        assert!(lead["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

/// Introspection is free of the depth limit but not unbounded: a fourth list level,
/// or many copies of the schema, are refused before anything runs.
#[tokio::test]
async fn introspection_cannot_fan_out() {
    use crate::common::*;
    let app = spawn_app().await;
    let deep = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let body = app.gql(None, deep, serde_json::json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("introspection query is nested too deep"), "{message}");
    let copies: String = (0..25).map(|i| format!("s{i}: __schema {{ types {{ name }} }} ")).collect();
    let body = app.gql(None, &format!("{{ {copies} }}"), serde_json::json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("costs 12500 points"), "{message}");
}
