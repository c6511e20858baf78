//! Field lists: the part of a mapping line between the key and `::`.
//!
//! ```text
//! list  := item ("," item)*
//! item  := name group*            a group after the first applies to every leaf before it
//! group := "{" list "}"
//! name  := one or more characters other than  { } , . [ ] $  and white space
//! ```
//!
//! | written | declares |
//! |---|---|
//! | `action` | the top-level `action` |
//! | `pull_request{title,user{login}}` | `pull_request.title` and `pull_request.user.login` |
//! | `a{b}{c}` (chained) | `a.b.c` |
//! | `commits{message}` | `message` of every element when `commits` is an array |
//! | `commits{0}{message}` | `message` of the first element only |
//! | `detail-type` | names may contain `-` |
//!
//! A field list compiles once, at load, into a [`FieldTree`]; extraction then walks the payload
//! along the tree only, so its cost depends on the declared fields, not on the payload's size,
//! and its depth is bounded by the tree's (at most [`MAX_DEPTH`] levels).
//!
//! Whether a name steps into an object member or maps over an array's elements is decided by
//! the payload at extraction time, because `obj{sub}` and `arr{prop}` are the same syntax.

use serde_json::{Map, Value};

/// The deepest a field list may nest; deeper lists are refused at load.
pub const MAX_DEPTH: usize = 64;

/// A compiled field list: every declared name, nested as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldTree {
    children: Vec<(String, FieldTree)>,
}

/// Why a field list was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// A `{` without its `}` or a `}` without its `{`.
    Unbalanced,
    /// `a{}`, `a,,b`, `{b}` …
    EmptyName,
    /// A name holding a character names cannot hold.
    BadName(String),
    /// Deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unbalanced => f.write_str("unbalanced braces in field list"),
            Self::EmptyName => f.write_str("empty field name in field list"),
            Self::BadName(name) => write!(f, "bad field name `{name}`"),
            Self::TooDeep => write!(f, "field list nests deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl FieldTree {
    /// Parses a field list.
    ///
    /// # Errors
    /// Unbalanced braces, an empty or bad name, or nesting deeper than [`MAX_DEPTH`].
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0 };
        let tree = parser.list(0)?;
        if parser.pos != parser.tokens.len() {
            return Err(FieldError::Unbalanced);
        }
        if tree.depth() > MAX_DEPTH {
            return Err(FieldError::TooDeep);
        }
        Ok(tree)
    }

    /// Whether nothing is declared below this node (the whole value is taken).
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// A declared child by name.
    pub fn child(&self, name: &str) -> Option<&FieldTree> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, child)| child)
    }

    /// The declared children, in the order written.
    pub fn children(&self) -> impl Iterator<Item = (&str, &FieldTree)> {
        self.children.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// Every leaf as its path of names, in the order written.
    pub fn leaves(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut stack: Vec<(Vec<String>, &FieldTree)> = vec![(Vec::new(), self)];
        while let Some((path, node)) = stack.pop() {
            if node.is_leaf() {
                if !path.is_empty() {
                    out.push(path);
                }
                continue;
            }
            for (name, child) in node.children.iter().rev() {
                let mut p = path.clone();
                p.push(name.clone());
                stack.push((p, child));
            }
        }
        out
    }

    /// How many levels deep the tree is (a single name is 1).
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack: Vec<(usize, &FieldTree)> = vec![(0, self)];
        while let Some((d, node)) = stack.pop() {
            max = max.max(d);
            if d > MAX_DEPTH {
                return d;
            }
            stack.extend(node.children.iter().map(|(_, c)| (d + 1, c)));
        }
        max
    }

    /// Adds `other`'s names to this tree (`a{b}` + `a{c}` = `a{b,c}`; a whole value wins over
    /// its parts: `a` + `a{b}` = `a`).
    fn merge(&mut self, other: FieldTree, depth: usize) -> Result<(), FieldError> {
        if depth > MAX_DEPTH {
            return Err(FieldError::TooDeep);
        }
        for (name, sub) in other.children {
            match self.children.iter_mut().find(|(n, _)| *n == name) {
                None => self.children.push((name, sub)),
                Some((_, mine)) => {
                    if mine.is_leaf() {
                        continue;
                    }
                    if sub.is_leaf() {
                        *mine = FieldTree::default();
                    } else {
                        mine.merge(sub, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Hangs `group` under every leaf of this (non-empty) tree: the chained form `a{b}{c}`.
    fn graft(&mut self, group: &FieldTree, depth: usize) -> Result<(), FieldError> {
        if depth > MAX_DEPTH {
            return Err(FieldError::TooDeep);
        }
        if self.is_leaf() {
            *self = group.clone();
            return Ok(());
        }
        for (_, child) in &mut self.children {
            child.graft(group, depth + 1)?;
        }
        Ok(())
    }

    /// A JSON object holding only the declared fields of `payload`, its shape kept: objects stay
    /// objects, arrays stay arrays (an element an index does not select, or that holds none of
    /// the names, is `null`), missing fields are absent.
    pub fn extract(&self, payload: &Value) -> Value {
        match project(self, payload, 0) {
            Some(value @ Value::Object(_)) => value,
            _ => Value::Object(Map::new()),
        }
    }
}

/// The payload's nesting extraction follows at most (arrays of arrays do not consume field
/// levels); serde_json refuses deeper documents anyway.
pub(crate) const MAX_VALUE_DEPTH: usize = 256;

pub(crate) fn project(node: &FieldTree, value: &Value, depth: usize) -> Option<Value> {
    if node.is_leaf() {
        return Some(value.clone());
    }
    if depth > MAX_VALUE_DEPTH {
        return None;
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (name, child) in &node.children {
                if let Some(projected) = map.get(name).and_then(|v| project(child, v, depth + 1)) {
                    out.insert(name.clone(), projected);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let named = node.children.iter().any(|(n, _)| index_of(n).is_none());
            // Whether anything was found: a found value may itself be `null`.
            let mut found = false;
            let mut out: Vec<Value> = if named {
                items
                    .iter()
                    .map(|item| {
                        let projected = project(node, item, depth + 1);
                        found |= projected.is_some();
                        projected.unwrap_or(Value::Null)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for (name, child) in &node.children {
                let Some(index) = index_of(name) else {
                    continue;
                };
                let Some(projected) = items.get(index).and_then(|v| project(child, v, depth + 1))
                else {
                    continue;
                };
                found = true;
                if out.len() <= index {
                    out.resize(index + 1, Value::Null);
                }
                if let Some(slot) = out.get_mut(index) {
                    merge_values(slot, projected, 0);
                }
            }
            found.then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// Merges `new` into `slot`: objects key by key, arrays element by element, else `new` wins.
fn merge_values(slot: &mut Value, new: Value, depth: usize) {
    match (slot, new) {
        (Value::Object(mine), Value::Object(theirs)) if depth < MAX_VALUE_DEPTH => {
            for (k, v) in theirs {
                match mine.get_mut(&k) {
                    Some(existing) => merge_values(existing, v, depth + 1),
                    None => {
                        mine.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(mine), Value::Array(theirs)) if depth < MAX_VALUE_DEPTH => {
            for (i, v) in theirs.into_iter().enumerate() {
                match mine.get_mut(i) {
                    Some(existing) => merge_values(existing, v, depth + 1),
                    None => mine.push(v),
                }
            }
        }
        (slot, new) => {
            if !new.is_null() {
                *slot = new;
            }
        }
    }
}

/// A name made only of ASCII digits selects an array element (it is still a member name on an
/// object).
pub(crate) fn index_of(name: &str) -> Option<usize> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Whether `name` may be a field name.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | ',' | '.' | '[' | ']' | '$'))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Comma,
    Name(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, FieldError> {
    let mut tokens = Vec::new();
    let mut name = String::new();
    let flush = |name: &mut String, tokens: &mut Vec<Token>| -> Result<(), FieldError> {
        let trimmed = name.trim();
        if !trimmed.is_empty() {
            if !valid_name(trimmed) {
                return Err(FieldError::BadName(trimmed.to_owned()));
            }
            tokens.push(Token::Name(trimmed.to_owned()));
        }
        name.clear();
        Ok(())
    };
    for c in text.chars() {
        let token = match c {
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            _ => {
                name.push(c);
                continue;
            }
        };
        flush(&mut name, &mut tokens)?;
        tokens.push(token);
    }
    flush(&mut name, &mut tokens)?;
    // Balance first, so that `a{b` says "unbalanced" rather than anything else.
    let mut open: usize = 0;
    for token in &tokens {
        match token {
            Token::Open => open += 1,
            Token::Close => open = open.checked_sub(1).ok_or(FieldError::Unbalanced)?,
            _ => {}
        }
    }
    if open != 0 {
        return Err(FieldError::Unbalanced);
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// `list := item ("," item)*`; `depth` counts the braces around it.
    fn list(&mut self, depth: usize) -> Result<FieldTree, FieldError> {
        if depth > MAX_DEPTH {
            return Err(FieldError::TooDeep);
        }
        let mut tree = FieldTree::default();
        loop {
            let item = self.item(depth)?;
            tree.merge(item, 0)?;
            match self.peek() {
                Some(Token::Comma) => self.pos += 1,
                _ => return Ok(tree),
            }
        }
    }

    /// `item := name group*`, as a tree with one child.
    fn item(&mut self, depth: usize) -> Result<FieldTree, FieldError> {
        let name = match self.peek() {
            Some(Token::Name(name)) => name.clone(),
            _ => return Err(FieldError::EmptyName),
        };
        self.pos += 1;
        let mut node = FieldTree::default();
        while let Some(Token::Open) = self.peek() {
            self.pos += 1;
            let group = self.list(depth + 1)?;
            match self.peek() {
                Some(Token::Close) => self.pos += 1,
                _ => return Err(FieldError::Unbalanced),
            }
            node.graft(&group, depth)?;
            if node.depth() > MAX_DEPTH {
                return Err(FieldError::TooDeep);
            }
        }
        Ok(FieldTree {
            children: vec![(name, node)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaves(text: &str) -> Vec<String> {
        FieldTree::parse(text)
            .unwrap()
            .leaves()
            .into_iter()
            .map(|p| p.join("."))
            .collect()
    }

    #[test]
    fn grammar_forms() {
        assert_eq!(leaves("action"), ["action"]);
        assert_eq!(leaves("obj{sub}"), ["obj.sub"]);
        assert_eq!(leaves("a{b{c}}"), ["a.b.c"]);
        assert_eq!(leaves("a{b}{c}"), ["a.b.c"]);
        assert_eq!(leaves("a{b,c}{d}"), ["a.b.d", "a.c.d"]);
        assert_eq!(
            leaves("action,pull_request{title,user{login}},repository{name}"),
            [
                "action",
                "pull_request.title",
                "pull_request.user.login",
                "repository.name"
            ]
        );
        assert_eq!(leaves("arr{0}{prop}"), ["arr.0.prop"]);
        assert_eq!(
            leaves("detail-type, detail{ instance-id , state }"),
            ["detail-type", "detail.instance-id", "detail.state"]
        );
        assert_eq!(leaves("a{b},a{c}"), ["a.b", "a.c"]);
        assert_eq!(leaves("a,a{b}"), ["a"]);
        assert_eq!(leaves("a{b},a"), ["a"]);
    }

    #[test]
    fn errors() {
        assert_eq!(FieldTree::parse("a{b"), Err(FieldError::Unbalanced));
        assert_eq!(FieldTree::parse("a}b"), Err(FieldError::Unbalanced));
        assert_eq!(FieldTree::parse("a{b}}"), Err(FieldError::Unbalanced));
        assert_eq!(FieldTree::parse("a{}"), Err(FieldError::EmptyName));
        assert_eq!(FieldTree::parse("a,,b"), Err(FieldError::EmptyName));
        assert_eq!(FieldTree::parse("{b}"), Err(FieldError::EmptyName));
        assert_eq!(FieldTree::parse(""), Err(FieldError::EmptyName));
        assert_eq!(
            FieldTree::parse("a b"),
            Err(FieldError::BadName("a b".into()))
        );
        assert_eq!(
            FieldTree::parse("a.b"),
            Err(FieldError::BadName("a.b".into()))
        );
        let deep = format!("{}x{}", "a{".repeat(10_000), "}".repeat(10_000));
        assert_eq!(FieldTree::parse(&deep), Err(FieldError::TooDeep));
        let chained = format!("a{}", "{b}".repeat(10_000));
        assert_eq!(FieldTree::parse(&chained), Err(FieldError::TooDeep));
        let ok = format!(
            "{}x{}",
            "a{".repeat(MAX_DEPTH - 1),
            "}".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(FieldTree::parse(&ok).unwrap().depth(), MAX_DEPTH);
    }

    #[test]
    fn extracts_with_shape_kept() {
        let tree = FieldTree::parse(
            "action,pull_request{title,user{login}},commits{message},missing,list{0}{id}",
        )
        .unwrap();
        let payload = json!({
            "action": "opened",
            "extra": 1,
            "pull_request": {"title": "T", "body": "B", "user": {"login": "octo", "id": 3}},
            "commits": [{"message": "m1", "id": 1}, {"id": 2}, {"message": "m3"}],
            "list": [{"id": 7, "x": 1}, {"id": 8}]
        });
        assert_eq!(
            tree.extract(&payload),
            json!({
                "action": "opened",
                "pull_request": {"title": "T", "user": {"login": "octo"}},
                "commits": [{"message": "m1"}, null, {"message": "m3"}],
                "list": [{"id": 7}]
            })
        );
        assert_eq!(tree.extract(&json!([1, 2])), json!({}));
        assert_eq!(tree.extract(&json!({"pull_request": 5})), json!({}));
    }
}
