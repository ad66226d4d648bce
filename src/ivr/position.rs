//! Where things are in a flow file: the line of each node and of each of its
//! fields, read from the TOML's spans, so diagnostics can point at a line.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

/// Lines (1-based) of `start`, the nodes and their fields.
#[derive(Debug, Default)]
pub struct Positions {
    top: BTreeMap<String, usize>,
    nodes: BTreeMap<String, (usize, BTreeMap<String, usize>)>,
}

#[derive(Deserialize)]
struct RawNodes {
    start: Option<Spanned<String>>,
    #[serde(default)]
    nodes: BTreeMap<String, Spanned<BTreeMap<String, Spanned<IgnoredAny>>>>,
}

impl Positions {
    /// The positions in `text`; empty when it is not a readable flow.
    pub fn of(text: &str) -> Positions {
        let Ok(raw) = toml::from_str::<RawNodes>(text) else {
            return Positions::default();
        };
        let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        Positions {
            top: raw
                .start
                .iter()
                .map(|start| ("start".to_owned(), line(start.span().start)))
                .collect(),
            nodes: raw
                .nodes
                .iter()
                .map(|(name, node)| {
                    let fields = node
                        .get_ref()
                        .iter()
                        .map(|(field, value)| (field.clone(), line(value.span().start)))
                        .collect();
                    (name.clone(), (line(node.span().start), fields))
                })
                .collect(),
        }
    }

    /// The line of `field` of `node` (its first segment, so `digits.1` is
    /// the `digits` line), else of the node; of `start` when no node.
    pub fn line(&self, node: Option<&str>, field: Option<&str>) -> Option<usize> {
        let key = field.map(|f| f.split(['.', '[']).next().unwrap_or(f));
        match node {
            Some(node) => {
                let (node_line, fields) = self.nodes.get(node)?;
                Some(
                    key.and_then(|k| fields.get(k).copied())
                        .unwrap_or(*node_line),
                )
            }
            None => key.and_then(|k| self.top.get(k).copied()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivr_positions_give_lines_of_nodes_fields_and_top_keys() {
        let text = "name = \"x\"\nstart = \"a\"\n\n[nodes.a]\ntype = \"menu\"\ndigits = { 1 = \"b\" }\n\n[nodes.b]\ntype = \"hangup\"\n";
        let p = Positions::of(text);
        assert_eq!(p.line(None, Some("start")), Some(2));
        assert_eq!(p.line(Some("a"), Some("type")), Some(5));
        assert_eq!(p.line(Some("a"), Some("digits.1")), Some(6));
        assert_eq!(p.line(Some("b"), Some("missing")), Some(8));
        assert_eq!(p.line(Some("b"), None), Some(8));
        assert_eq!(p.line(Some("nope"), None), None);
    }
}
