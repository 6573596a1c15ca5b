//! llm.txt rendering of a ServiceDescriptor, following the CLI's `FormatAsLLMTxt`
//! (dink-protocol.md §9). Accepts snake_case (wire) and camelCase (TS companion) field names.

use serde_json::Value;

fn field<'a>(v: &'a Value, snake: &str, camel: &str) -> Option<&'a Value> {
    v.get(snake)
        .or_else(|| v.get(camel))
        .filter(|x| !x.is_null())
}

fn text<'a>(v: &'a Value, snake: &str, camel: &str) -> Option<&'a str> {
    field(v, snake, camel)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn list(v: &Value, snake: &str, camel: &str) -> Vec<String> {
    field(v, snake, camel)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Pretty JSON, 2-space indent, keys sorted (rebuilt in sorted order, so this holds even when
/// serde_json's `preserve_order` feature is on in the workspace).
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(&sorted(v)).unwrap_or_default()
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

pub fn render(d: &Value) -> String {
    let mut out: Vec<String> = Vec::new();
    let name = text(d, "name", "name").unwrap_or("");
    out.push(format!("# {name} LLM Reference"));
    out.push(String::new());
    if let Some(desc) = text(d, "description", "description") {
        out.push(format!("> {desc}"));
        out.push(String::new());
    }
    let ai = field(d, "ai_context", "aiContext")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(o) = text(&ai, "overview", "overview") {
        out.extend([
            "## When to Use This Service".into(),
            String::new(),
            o.to_string(),
            String::new(),
        ]);
    }
    for (title, key) in [
        ("Capabilities", "capabilities"),
        ("Limitations", "limitations"),
    ] {
        let items = list(&ai, key, key);
        if !items.is_empty() {
            out.push(format!("## {title}"));
            out.push(String::new());
            out.extend(items.iter().map(|i| format!("- {i}")));
            out.push(String::new());
        }
    }
    let methods = field(d, "methods", "methods")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !methods.is_empty() {
        out.push("## Methods".into());
        out.push(String::new());
        for m in &methods {
            out.push(format!("### {}", text(m, "name", "name").unwrap_or("")));
            out.push(String::new());
            if let Some(desc) = text(m, "description", "description") {
                out.push(desc.to_string());
                out.push(String::new());
            }
            let mai = field(m, "ai_context", "aiContext")
                .cloned()
                .unwrap_or(Value::Null);
            for (label, s, c) in [
                ("When to use", "when_to_use", "whenToUse"),
                ("Why", "why_to_use", "whyToUse"),
                ("How", "how_to_use", "howToUse"),
            ] {
                if let Some(t) = text(&mai, s, c) {
                    out.push(format!("**{label}:** {t}"));
                    out.push(String::new());
                }
            }
            for (label, s, c) in [
                ("Preconditions", "preconditions", "preconditions"),
                ("Side Effects", "side_effects", "sideEffects"),
            ] {
                let items = list(&mai, s, c);
                if !items.is_empty() {
                    out.push(format!("**{label}:**"));
                    out.push(String::new());
                    out.extend(items.iter().map(|i| format!("- {i}")));
                    out.push(String::new());
                }
            }
            let rel = list(&mai, "related_methods", "relatedMethods");
            if !rel.is_empty() {
                out.push(format!("**Related Methods:** {}", rel.join(", ")));
                out.push(String::new());
            }
            if let Some(t) = text(&mai, "tool_group", "toolGroup") {
                out.push(format!("**Tool Group:** {t}"));
                out.push(String::new());
            }
            for (title, s, c) in [
                ("Request Schema", "input_schema", "inputSchema"),
                ("Response Schema", "output_schema", "outputSchema"),
            ] {
                if let Some(schema) = field(m, s, c) {
                    out.extend([
                        format!("#### {title}"),
                        String::new(),
                        "```json".into(),
                        pretty(schema),
                        "```".into(),
                        String::new(),
                    ]);
                }
            }
            let sc = list(&mai, "scenarios", "scenarios");
            if !sc.is_empty() {
                out.push("**Scenarios:**".into());
                out.push(String::new());
                out.extend(sc.iter().map(|i| format!("- {i}")));
                out.push(String::new());
            }
        }
    }
    let related = list(d, "related_services", "relatedServices");
    if !related.is_empty() {
        out.push("## Related Services".into());
        out.push(String::new());
        out.extend(related.iter().map(|i| format!("- {i}")));
        out.push(String::new());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_sections() {
        let d = serde_json::json!({"name":"Sensor","description":"Reads","ai_context":{"overview":"Use it","capabilities":["a"],"related_services":["ignored"]},
            "methods":[{"name":"Read","input_schema":{"type":"object","b":1,"a":2}},{"name":"Bare"}],"related_services":["Other"]});
        let t = super::render(&d);
        assert!(t.starts_with(
            "# Sensor LLM Reference\n\n> Reads\n\n## When to Use This Service\n\nUse it\n"
        ));
        assert!(t.contains("### Bare\n"));
        assert!(t.contains("\"a\": 2,\n  \"b\": 1"));
        assert!(t.contains("## Related Services\n\n- Other\n") && !t.contains("ignored"));
    }
}
