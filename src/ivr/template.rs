//! `${name}` templates used in `say` texts, prompts, `set` values and
//! webhook bodies: listing the variables a template uses and filling it in
//! (JSON-escaped for webhook bodies).
//! A `$` not followed by `{` is literal text.

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a template cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("`${{` at byte {0} has no closing `}}`")]
    Unclosed(usize),
    #[error("`${{{0}}}` is not a variable name (use letters, digits and `_`)")]
    BadName(String),
}

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(at) = rest.find("${") {
        pieces.push(Piece::Text(&rest[..at]));
        let after = &rest[at + 2..];
        let close = after
            .find('}')
            .ok_or(TemplateError::Unclosed(offset + at))?;
        let name = &after[..close];
        if !is_variable_name(name) {
            return Err(TemplateError::BadName(name.to_owned()));
        }
        pieces.push(Piece::Var(name));
        let consumed = at + 2 + close + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Whether `name` can be a variable: ASCII letters, digits, `_`, not empty.
pub fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables a template uses, in order of first use.
pub fn variables(template: &str) -> Result<Vec<&str>, TemplateError> {
    let mut names: Vec<&str> = Vec::new();
    for piece in pieces(template)? {
        if let Piece::Var(name) = piece {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// The template with every `${name}` replaced by its value (unset → empty).
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    render_escaped(template, vars, str::to_owned)
}

/// Like [`render`], for a JSON body: each value is escaped as the inside of
/// a JSON string, so a caller number holding `"` cannot break the document.
pub fn render_json(
    template: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    render_escaped(template, vars, |value| {
        let quoted = serde_json::Value::from(value).to_string();
        quoted[1..quoted.len() - 1].to_owned()
    })
}

fn render_escaped(
    template: &str,
    vars: &BTreeMap<String, String>,
    escape: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    Ok(pieces(template)?
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.to_owned(),
            Piece::Var(name) => escape(vars.get(name).map_or("", String::as_str)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivr_template_lists_variables_once_in_order() {
        assert_eq!(
            variables("Hi ${name}, ${level} ${name} costs $5").unwrap(),
            vec!["name", "level"]
        );
    }

    #[test]
    fn ivr_template_renders_known_and_empties_unknown_variables() {
        let vars = BTreeMap::from([("name".to_owned(), "Li".to_owned())]);
        assert_eq!(render("Hi ${name}${x}!", &vars).unwrap(), "Hi Li!");
    }

    #[test]
    fn ivr_template_json_escapes_values_not_the_template() {
        let vars = BTreeMap::from([("caller".to_owned(), "a\"b\\c\n".to_owned())]);
        let body = render_json("{\"caller\": \"${caller}\"}", &vars).unwrap();
        assert_eq!(body, "{\"caller\": \"a\\\"b\\\\c\\n\"}");
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["caller"], "a\"b\\c\n");
    }

    #[test]
    fn ivr_template_rejects_unclosed_and_bad_names() {
        assert_eq!(variables("a ${b"), Err(TemplateError::Unclosed(2)));
        assert_eq!(
            variables("${a b}"),
            Err(TemplateError::BadName("a b".to_owned()))
        );
    }
}
