//! A response's JSON, byte for byte what `serde_json` writes, with strings escaped a
//! register at a time: serde_json checks every byte of every key and string through
//! its escape table, and on a page of 50 leads that was a tenth of the server's work.

use async_graphql::{Response, Value};

/// Append `response` as JSON to `out`: `data`, then `extensions` and `errors` when there
/// are any (the fields and order of `Response`'s own `Serialize`).
pub fn write_response(out: &mut Vec<u8>, response: &Response) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write_value(out, &response.data)?;
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut *out, &response.extensions)?;
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut *out, &response.errors)?;
    }
    out.push(b'}');
    Ok(())
}

/// Append `value` as JSON to `out`. Its depth is bounded: the query's by the request
/// limits, a `JSON` value's by serde_json's 128 levels, where every one is read.
fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::String(text) => json_escape_simd::escape_into(text, out),
        Value::Enum(name) => json_escape_simd::escape_into(name.as_str(), out),
        Value::Number(number) => serde_json::to_writer(&mut *out, number)?,
        Value::Binary(_) => serde_json::to_writer(&mut *out, value)?,
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (name, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_escape_simd::escape_into(name.as_str(), out);
                out.push(b':');
                write_value(out, field)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{ErrorExtensionValues, Name, PathSegment, Pos, ServerError};

    fn text_of_every_kind() -> Vec<String> {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(
            ["", "\"", "\\", "\\\"", "\u{7f}\u{80}", "é漢字🙂", "</script>", "\u{2028}\u{2029}", "\\N"]
                .map(String::from),
        );
        // Long runs cross every register width, with something to escape at every offset.
        for at in 0..70 {
            let mut long = "x".repeat(70);
            long.insert(at, '\n');
            texts.push(long);
            texts.push(format!("{}\"{}", "é".repeat(at), "y".repeat(at)));
        }
        texts
    }

    fn check(response: &Response) {
        let mut ours = Vec::new();
        write_response(&mut ours, response).unwrap();
        let theirs = serde_json::to_vec(response).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
    }

    /// Every kind of value, every character that must be escaped and long text with an
    /// escape at every offset: written exactly as serde_json writes them.
    #[test]
    fn responses_are_written_as_serde_json_writes_them() {
        let texts = text_of_every_kind();
        let mut object = async_graphql::ObjectMap::default();
        for (i, text) in texts.iter().enumerate() {
            object.insert(Name::new(text), Value::String(text.clone()));
            object.insert(Name::new(format!("n{i}")), Value::from(i as i64 - 60));
        }
        let numbers = [0.0, -0.0, 1.5, -2.25e-7, 1e21, 123456789.125, f64::MAX, f64::MIN_POSITIVE];
        let data = Value::List(vec![
            Value::Null,
            Value::Boolean(true),
            Value::Boolean(false),
            Value::Enum(Name::new("MQL")),
            Value::Binary(vec![0u8, 1, 255].into()),
            Value::List(vec![]),
            Value::Object(Default::default()),
            Value::List(numbers.iter().map(|n| Value::from(*n)).collect()),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::Object(object),
        ]);
        check(&Response::new(data.clone()));
        check(&Response::new(Value::Null));

        let mut failed = Response::new(data);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", "BAD_USER_INPUT");
        failed.errors.push(ServerError {
            message: "a \"bad\"\nvalue".into(),
            source: None,
            locations: vec![Pos { line: 3, column: 7 }],
            path: vec![PathSegment::Field("leads".into()), PathSegment::Index(4)],
            extensions: Some(extensions),
        });
        failed.extensions.insert("cost".into(), Value::from(12));
        check(&failed);
    }
}
