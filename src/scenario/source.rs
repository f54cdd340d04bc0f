//! Where things are in a scenario's text: the byte spans of fields, list items
//! and map keys, so that problems found after parsing (an unknown parent, a
//! gamma out of range) can point at the right line and column.
//!
//! ron's deserializer keeps no spans, so the loader reads the text a second
//! time with this small RON reader. It only runs on text that ron has already
//! accepted, so it can be lenient: on anything it does not understand it
//! returns `None` and errors are located at the person or file instead.

use std::ops::Range;

/// A byte range in the scenario text.
pub type Span = Range<usize>;

/// One RON value and where it is.
#[derive(Clone, Debug)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

/// The shape of a RON value, as far as locating things needs it.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A string, number, char, or bare identifier such as `Male` or `None`.
    Atom,
    /// `(a: 1, b: 2)` or `Name(a: 1)`.
    Struct {
        name: Option<String>,
        fields: Vec<Field>,
    },
    /// `(1, 2)`, `Name(1, 2)`, `Some(x)`, `Cuda(0)`.
    Tuple {
        name: Option<String>,
        items: Vec<Node>,
    },
    /// `[a, b]`.
    Seq(Vec<Node>),
    /// `{k: v}`.
    Map(Vec<(Node, Node)>),
}

/// A named field of a struct.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub value: Node,
}

impl Node {
    /// The field called `name`, if this is a struct that has it.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// A struct's fields (empty for anything else).
    pub fn fields(&self) -> &[Field] {
        match &self.kind {
            Kind::Struct { fields, .. } => fields,
            _ => &[],
        }
    }

    /// A list's or tuple's items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) | Kind::Tuple { items, .. } => items,
            _ => &[],
        }
    }

    /// A map's entries (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The value inside `Some(…)`, or the node itself: with implicit `Some`
    /// both spellings mean the same.
    pub fn unwrap_some(&self) -> &Node {
        match &self.kind {
            Kind::Tuple {
                name: Some(name),
                items,
            } if name == "Some" && items.len() == 1 => &items[0],
            _ => self,
        }
    }

    /// The struct inside a newtype variant: with ron's
    /// `unwrap_variant_newtypes` `StyleGene(weights: …)` is the struct itself;
    /// a file enabling other extensions may wrap it in a tuple instead.
    pub fn variant_struct(&self) -> &Node {
        match &self.kind {
            Kind::Tuple { items, .. } if items.len() == 1 => &items[0],
            _ => self,
        }
    }

    /// The span of the value of field `name`, with `Some(…)` unwrapped.
    pub fn value_span(&self, name: &str) -> Option<Span> {
        self.field(name).map(|f| f.value.unwrap_some().span.clone())
    }

    /// The innermost field whose value contains `offset`, searching through
    /// nested structs, lists and maps.
    pub fn field_at(&self, offset: usize) -> Option<&Field> {
        let mut found = None;
        let mut node = self;
        loop {
            let next = match &node.kind {
                Kind::Struct { fields, .. } => fields
                    .iter()
                    .find(|f| contains(&f.name_span, offset) || contains(&f.value.span, offset))
                    .map(|f| {
                        found = Some(f);
                        &f.value
                    }),
                Kind::Tuple { items, .. } | Kind::Seq(items) => {
                    items.iter().find(|n| contains(&n.span, offset))
                }
                Kind::Map(entries) => entries
                    .iter()
                    .flat_map(|(k, v)| [k, v])
                    .find(|n| contains(&n.span, offset)),
                Kind::Atom => None,
            };
            match next {
                // A field name span is not inside the value; stop there.
                Some(n) if !std::ptr::eq(n, node) && contains(&n.span, offset) => node = n,
                _ => return found,
            }
        }
    }
}

/// Whether `offset` is inside `span`; the end counts too, because ron reports
/// some errors just after the token they are about.
fn contains(span: &Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

/// Reads the text into a tree of spans, or `None` if it is not RON this
/// reader understands.
pub fn parse(text: &str) -> Option<Node> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    parser.skip_attributes()?;
    let root = parser.value()?;
    (parser.pos == parser.tokens.len()).then_some(root)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Ident,
    Literal,
    Punct(u8),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

/// Splits RON text into identifiers, literals and punctuation, dropping
/// whitespace and comments.
fn lex(text: &str) -> Option<Vec<Token>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // Block comments nest in RON.
            let mut depth = 0usize;
            loop {
                if i + 1 >= b.len() {
                    return None;
                }
                if b[i] == b'/' && b[i + 1] == b'*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b[i + 1] == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let tok = if c == b'"' {
            i = quoted_end(b, i, b'"')?;
            Tok::Literal
        } else if c == b'\'' {
            i = quoted_end(b, i, b'\'')?;
            Tok::Literal
        } else if let Some(end) = raw_string_end(b, i) {
            i = end;
            Tok::Literal
        } else if c == b'b' && b.get(i + 1) == Some(&b'"') {
            i = quoted_end(b, i + 1, b'"')?;
            Tok::Literal
        } else if c.is_ascii_digit()
            || ((c == b'-' || c == b'+' || c == b'.')
                && b.get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == b'.'))
        {
            i += 1;
            while i < b.len() {
                let d = b[i];
                let exponent_sign = (d == b'+' || d == b'-') && matches!(b[i - 1], b'e' | b'E');
                if d.is_ascii_alphanumeric() || d == b'_' || d == b'.' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Tok::Literal
        } else if c == b'-' || c == b'+' {
            // `-inf` and friends: a sign glued to an identifier.
            i += 1;
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            Tok::Literal
        } else if is_ident_byte(c) {
            if c == b'r' && b.get(i + 1) == Some(&b'#') {
                i += 2; // raw identifier r#name
            }
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            Tok::Ident
        } else if b"()[]{},:#!".contains(&c) {
            i += 1;
            Tok::Punct(c)
        } else {
            return None;
        };
        out.push(Token {
            tok,
            span: start..i,
        });
    }
    Some(out)
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// End (exclusive) of a quoted literal starting at `start`, honouring escapes.
fn quoted_end(b: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of a raw string `r"…"`, `r#"…"#` or `br#"…"#` at `start`.
fn raw_string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    if b.get(i) == Some(&b'b') {
        i += 1;
    }
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Deeper than any scenario needs, and shallow enough to never overflow the stack.
const MAX_DEPTH: usize = 256;

impl Parser<'_> {
    fn peek(&self) -> Option<Tok> {
        self.tokens.get(self.pos).map(|t| t.tok)
    }

    fn peek2(&self) -> Option<Tok> {
        self.tokens.get(self.pos + 1).map(|t| t.tok)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, c: u8) -> Option<Token> {
        let t = self.next()?;
        (t.tok == Tok::Punct(c)).then_some(t)
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn prev_end(&self) -> usize {
        self.tokens[self.pos - 1].span.end
    }

    /// Skips `#![enable(...)]` attributes before the value.
    fn skip_attributes(&mut self) -> Option<()> {
        while self.peek() == Some(Tok::Punct(b'#')) {
            self.pos += 1;
            self.expect(b'!')?;
            self.expect(b'[')?;
            let mut depth = 1;
            while depth > 0 {
                match self.next()?.tok {
                    Tok::Punct(b'[') => depth += 1,
                    Tok::Punct(b']') => depth -= 1,
                    _ => {}
                }
            }
        }
        Some(())
    }

    fn value(&mut self) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let node = self.value_inner();
        self.depth -= 1;
        node
    }

    fn value_inner(&mut self) -> Option<Node> {
        let first = self.next()?;
        let start = first.span.start;
        match first.tok {
            Tok::Literal => Some(Node {
                span: first.span,
                kind: Kind::Atom,
            }),
            Tok::Ident => {
                if self.peek() == Some(Tok::Punct(b'(')) {
                    let name = self.text[first.span].to_string();
                    self.parens(Some(name), start)
                } else {
                    Some(Node {
                        span: first.span,
                        kind: Kind::Atom,
                    })
                }
            }
            Tok::Punct(b'(') => {
                self.pos -= 1;
                self.parens(None, start)
            }
            Tok::Punct(b'[') => {
                let mut items = Vec::new();
                while !self.eat(b']') {
                    items.push(self.value()?);
                    if !self.eat(b',') {
                        self.expect(b']')?;
                        break;
                    }
                }
                Some(Node {
                    span: start..self.prev_end(),
                    kind: Kind::Seq(items),
                })
            }
            Tok::Punct(b'{') => {
                let mut entries = Vec::new();
                while !self.eat(b'}') {
                    let key = self.value()?;
                    self.expect(b':')?;
                    let value = self.value()?;
                    entries.push((key, value));
                    if !self.eat(b',') {
                        self.expect(b'}')?;
                        break;
                    }
                }
                Some(Node {
                    span: start..self.prev_end(),
                    kind: Kind::Map(entries),
                })
            }
            Tok::Punct(_) => None,
        }
    }

    /// `( … )` after an optional name: a struct if it starts with `ident:`,
    /// else a tuple.
    fn parens(&mut self, name: Option<String>, start: usize) -> Option<Node> {
        self.expect(b'(')?;
        let is_struct = self.peek() == Some(Tok::Ident) && self.peek2() == Some(Tok::Punct(b':'));
        let kind = if is_struct {
            let mut fields = Vec::new();
            while !self.eat(b')') {
                let key = self.next()?;
                if key.tok != Tok::Ident {
                    return None;
                }
                self.expect(b':')?;
                let value = self.value()?;
                let field_name = self.text[key.span.clone()].trim_start_matches("r#");
                fields.push(Field {
                    name: field_name.to_string(),
                    name_span: key.span,
                    value,
                });
                if !self.eat(b',') {
                    self.expect(b')')?;
                    break;
                }
            }
            Kind::Struct { name, fields }
        } else {
            let mut items = Vec::new();
            while !self.eat(b')') {
                items.push(self.value()?);
                if !self.eat(b',') {
                    self.expect(b')')?;
                    break;
                }
            }
            Kind::Tuple { name, items }
        };
        Some(Node {
            span: start..self.prev_end(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of<'a>(text: &'a str, span: &Span) -> &'a str {
        &text[span.clone()]
    }

    #[test]
    fn finds_fields_items_and_map_keys() {
        let text = r##"#![enable(implicit_some)]
// a comment with ( and "
(
    name: "x /* not a comment */",
    model: StyleGene(weights: r#"w"#, device: Cuda(0)),
    people: [
        (id: "a", gamma: Some(0.5), regions: {"eyes": Mother, /* c */ "iris": Father}),
        (id: "b", eta: -1.5e-3),
    ],
)"##;
        let root = parse(text).expect("parses");
        assert_eq!(
            text_of(text, &root.field("name").unwrap().value.span),
            "\"x /* not a comment */\""
        );
        let model = &root.field("model").unwrap().value;
        assert_eq!(
            text_of(text, &model.variant_struct().value_span("device").unwrap()),
            "Cuda(0)"
        );
        let people = root.field("people").unwrap().value.items();
        assert_eq!(people.len(), 2);
        assert_eq!(
            text_of(text, &people[0].value_span("gamma").unwrap()),
            "0.5"
        );
        assert_eq!(
            text_of(text, &people[1].value_span("eta").unwrap()),
            "-1.5e-3"
        );
        let regions = &people[0].field("regions").unwrap().value;
        let keys: Vec<&str> = regions
            .entries()
            .iter()
            .map(|(k, _)| text_of(text, &k.span))
            .collect();
        assert_eq!(keys, ["\"eyes\"", "\"iris\""]);
        let iris = text.find("\"iris\"").unwrap();
        assert_eq!(root.field_at(iris).unwrap().name, "regions");
        let eta = text.find("-1.5").unwrap();
        assert_eq!(root.field_at(eta).unwrap().name, "eta");
    }

    #[test]
    fn refuses_broken_text_instead_of_guessing() {
        assert!(parse("(a: 1").is_none());
        assert!(parse("(a: \"open)").is_none());
        assert!(parse("(a: 1) trailing").is_none());
        assert!(parse("/* unclosed").is_none());
    }
}
