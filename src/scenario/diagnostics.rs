//! Scenario problems as people read them: `file:line:column`, the person, the
//! message, then the source line with a caret under the spot, and a hint.
//!
//! Plain text only, no colours: the report travels inside
//! [`crate::Error::Scenario`] and ends up in terminals, logs and tests alike.

use super::source::{Node, Span};
// Re-exported: the hints below and validate.rs's suggest names with it.
pub use crate::suggest::closest;
use std::fmt::Write as _;
use std::path::Path;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The scenario cannot run.
    Error,
    /// Implausible but legal; the run goes ahead.
    Warning,
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where in the text; `None` when even the person cannot be located.
    pub span: Option<Span>,
    /// The id of the person it is about, if any.
    pub person: Option<String>,
    pub message: String,
    /// Extra lines: what is allowed, what was probably meant.
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            person: None,
            message: message.into(),
            help: Vec::new(),
        }
    }

    pub fn warning(span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    pub fn person(mut self, id: &str) -> Self {
        self.person = Some(id.to_string());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The scenario text with a line index, for turning byte offsets into
/// `line:column` and back.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters, as ron counts them) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// The byte offset of a 1-based line and character column inside
    /// `within`, a piece of text that starts at byte `base` of this source
    /// (ron reports positions relative to the text it was given).
    pub fn offset_in(&self, base: usize, within: &str, line: usize, col: usize) -> usize {
        let mut offset = 0;
        for _ in 1..line.max(1) {
            match within[offset..].find('\n') {
                Some(i) => offset += i + 1,
                None => break,
            }
        }
        let rest = &within[offset..];
        let in_line = rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
        self.clamp(base + offset + in_line)
    }

    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// `path:line:col: person "id": message`, the one-line form.
    pub fn headline(&self, d: &Diagnostic) -> String {
        let mut s = self.path.display().to_string();
        if let Some(span) = &d.span {
            let (line, col) = self.line_col(span.start);
            let _ = write!(s, ":{line}:{col}");
        }
        s.push_str(": ");
        if let Some(id) = &d.person {
            let _ = write!(s, "person {id:?}: ");
        }
        s.push_str(&d.message);
        s
    }

    /// The full form: headline, source line with a caret, help lines.
    pub fn render(&self, d: &Diagnostic) -> String {
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{label}: {}\n", self.headline(d));
        if let Some(span) = &d.span {
            let (line, col) = self.line_col(span.start);
            let number = line.to_string();
            let gutter = " ".repeat(number.len());
            let text = self.line_text(line);
            // Tabs would shift the caret; show them as four spaces and pad alike.
            let shown = text.replace('\t', "    ");
            let before: usize = text
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { 4 } else { 1 })
                .sum();
            let line_end = self.line_starts[line - 1] + text.len();
            let end = self.clamp(span.end.min(line_end));
            let width = self.text[self.clamp(span.start)..end.max(span.start)]
                .chars()
                .count()
                .max(1);
            let (shown, before, width) = window(&shown, before, width);
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {shown}");
            let _ = writeln!(
                out,
                "{gutter} | {}{}",
                " ".repeat(before),
                "^".repeat(width)
            );
            for h in &d.help {
                let _ = writeln!(out, "{gutter} = help: {h}");
            }
        } else {
            for h in &d.help {
                let _ = writeln!(out, "  = help: {h}");
            }
        }
        out
    }

    /// The report for a scenario that failed: every error in file order, then
    /// the warnings, then a count.
    pub fn report(&self, diagnostics: &[Diagnostic]) -> String {
        let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
        // Errors first, each group in file order, so the report reads top-down.
        sorted.sort_by_key(|d| (!d.is_error(), d.span.as_ref().map_or(0, |s| s.start)));
        let mut out = String::new();
        for d in &sorted {
            out.push_str(&self.render(d));
            out.push('\n');
        }
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        let _ = write!(
            out,
            "error: {} has {errors} error{}; nothing was done",
            self.path.display(),
            if errors == 1 { "" } else { "s" }
        );
        out
    }
}

/// Widest source line shown whole under a message.
const MAX_SHOWN: usize = 120;

/// A long line (a whole file on one line, brackets nested thousands deep)
/// cut to [`MAX_SHOWN`] characters around the caret, with `…` where text
/// was left out; returns the text, the caret's column in it and its width.
fn window(line: &str, before: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN {
        return (line.to_string(), before, width);
    }
    let start = before
        .saturating_sub(MAX_SHOWN / 2)
        .min(chars.len() - MAX_SHOWN);
    let end = start + MAX_SHOWN;
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    let caret = before - start + usize::from(start > 0);
    (shown, caret, width.min(end.saturating_sub(before)).max(1))
}

/// What a field of the file holds, for hints after a type error: the
/// scenario's fields by default; a dataset spec adds its own.
pub type FieldHints = fn(&str) -> Option<String>;

/// One of ron's errors as a located diagnostic. `whole` has the same byte
/// offsets as the source (it may have fields blanked out); `within` is the
/// part of it that ron was given. `hints` describes the file's fields
/// (`None`: the scenario's).
pub fn from_ron_error(
    source: &Source,
    tree: Option<&Node>,
    whole: &str,
    within: &str,
    err: &ron::error::SpannedError,
    hints: Option<FieldHints>,
) -> Diagnostic {
    let base = within.as_ptr() as usize - whole.as_ptr() as usize;
    let mut start = source.offset_in(base, within, err.span.start.line, err.span.start.col);
    // ron's span starts where its cursor was, often on the whitespace before
    // the token at fault; point at the token.
    let rest = &source.text[start..];
    if !rest.trim().is_empty() {
        start += rest.len() - rest.trim_start().len();
    }
    let mut end = source
        .offset_in(base, within, err.span.end.line, err.span.end.col)
        .max(start);
    if end == start {
        end = start + token_len(&source.text[start..]);
    }
    let field = tree
        .and_then(|t| t.field_at(start))
        .map(|f| f.name.as_str());
    let found = source.text[start..].chars().next();
    let (message, help) = describe_ron_error(&err.code, field, found, hints.unwrap_or(field_hint));
    let mut d = Diagnostic::error(Some(start..end), message);
    d.help = help;
    d
}

/// Length in bytes of the token at the start of `text` (a quoted string, a
/// word or number, or one character), for underlining it.
fn token_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        None => 0,
        Some((_, '"')) => text[1..].find('"').map_or(1, |i| i + 2),
        Some((_, c)) if c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.') => text
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.')))
            .unwrap_or(text.len()),
        Some((_, c)) => c.len_utf8(),
    }
}

/// Turns one of ron's errors into a message and hints in the file's terms.
/// `field` is the field the error happened in, if known; `found` the
/// character ron stopped at; `field_hint` says what a field holds.
pub fn describe_ron_error(
    code: &ron::Error,
    field: Option<&str>,
    found: Option<char>,
    field_hint: FieldHints,
) -> (String, Vec<String>) {
    use ron::Error as E;
    let mut help = Vec::new();
    let message = match code {
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => {
            if let Some(m) = closest(found, expected.iter().copied()) {
                help.push(format!("did you mean `{m}`?"));
            }
            format!(
                "unknown field `{found}` in {}; expected one of: {}",
                struct_words(outer.as_deref()),
                expected.join(", ")
            )
        }
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => {
            if let Some(m) = closest(found, expected.iter().copied()) {
                help.push(format!("did you mean `{m}`?"));
            }
            format!(
                "unknown {} `{found}`; expected one of: {}",
                enum_words(outer.as_deref()),
                expected.join(", ")
            )
        }
        E::MissingStructField {
            field: missing,
            outer,
        } => {
            help.extend(field_hint(missing).map(|h| format!("`{missing}` is {h}")));
            format!(
                "missing field `{missing}` in {}",
                struct_words(outer.as_deref())
            )
        }
        E::DuplicateStructField { field: dup, outer } => format!(
            "field `{dup}` is given twice in {}",
            struct_words(outer.as_deref())
        ),
        E::ExpectedNamedStructLike(name) => {
            format!("expected `(` to start {}", struct_words(Some(name)))
        }
        E::ExpectedDifferentStructName { expected, found } => format!(
            "expected {} but found `{found}`",
            struct_words(Some(expected))
        ),
        E::ExpectedComma => {
            help.push("separate fields and list items with `,`".into());
            "expected a comma or a closing bracket".into()
        }
        E::ExpectedIdentifier if found.is_some_and(|c| !c.is_alphanumeric()) => {
            if matches!(found, Some(']' | '}')) {
                help.push(
                    "a `(` opened before this point is probably never closed with `)`".into(),
                );
            }
            format!(
                "expected a field name, found `{}`",
                found.unwrap_or_default()
            )
        }
        E::ExpectedStringEnd => {
            help.push("this string is never closed with `\"`".into());
            "expected end of string".into()
        }
        E::Eof => {
            help.push("a `(`, `[` or `{` is probably never closed".into());
            "the file ends in the middle of a value".into()
        }
        // ron's own text names its options and `serde_stacker`, which mean
        // nothing to someone writing a family; no real file comes close to
        // the limit (ron's default, 128 levels).
        E::ExceededRecursionLimit => {
            help.push(
                "a real file needs a few levels of `(`, `[` and `{`; is one repeated by mistake?"
                    .into(),
            );
            "brackets are nested too deeply here (more than 128 levels)".into()
        }
        E::TrailingCharacters => {
            help.push("a scenario is one `( … )` block; is there an extra `)`?".into());
            "unexpected text after the end of the scenario".into()
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    };
    let is_type_error = matches!(
        code,
        E::InvalidValueForType { .. }
            | E::ExpectedString
            | E::ExpectedFloat
            | E::ExpectedInteger
            | E::ExpectedBoolean
            | E::ExpectedOption
            | E::ExpectedStructLike
            | E::ExpectedNamedStructLike(_)
            | E::ExpectedArray
            | E::ExpectedMap
            | E::ExpectedIdentifier
            | E::IntegerOutOfBounds
            | E::ExpectedDifferentStructName { .. }
    );
    let message = match field {
        Some(f) if is_type_error => {
            help.extend(field_hint(f).map(|h| format!("`{f}` is {h}")));
            format!("field `{f}`: {message}")
        }
        _ => message,
    };
    (message, help)
}

/// What a scenario field holds, for hints.
pub fn field_hint(field: &str) -> Option<String> {
    Some(match field {
        "name" => "a string in double quotes, e.g. \"The Okafors\"".into(),
        "surname" => "a family name in double quotes, e.g. \"Hale\"".into(),
        "id" | "father" | "mother" => "a person id in double quotes, e.g. \"anna\"".into(),
        "seed" => "a whole number from 0 to 18446744073709551615".into(),
        "image_size" => "a whole number of pixels from 64 to 1024".into(),
        "gamma" | "eta" | "truncation" => "a number from 0 to 1, e.g. 0.4".into(),
        "batch" => "a whole number of at least 1".into(),
        "sex" => "`Male` or `Female`".into(),
        "age" => format!(
            "an age group in double quotes: {}",
            crate::attributes::AgeGroup::ALL
                .map(|a| format!("\"{a}\""))
                .join(", ")
        ),
        "ancestry" => format!(
            "one of {}",
            crate::attributes::Ancestry::ALL
                .map(|a| format!("{a:?}"))
                .join(", ")
        ),
        "regions" => "a map like {\"eyes\": Mother, \"nose\": Father}".into(),
        "genes" => "`Pool`, `Seed(42)`, `Latent(\"file.npy\")`, `Photo(\"face.jpg\")` or `AlignedPhoto(\"crop.png\")`".into(),
        "model" => "`Procedural` or `StyleGene(weights: \"weights/ffhq\")`".into(),
        "device" => "`Cpu`, `Cuda(0)` or `Wgpu(0)`".into(),
        "weights" => "the folder written by `famsim weights import`, in double quotes".into(),
        "people" => "a list of people: [ (id: …), (id: …) ]".into(),
        "defaults" => "(gamma: 0.47, eta: 0.4)".into(),
        _ => return None,
    })
}

/// Struct names from the format module, in words.
fn struct_words(name: Option<&str>) -> String {
    match name {
        Some("ScenarioFile") => "the scenario".into(),
        Some("PersonSpec") => "a person".into(),
        Some("Defaults") => "`defaults`".into(),
        Some("StyleGeneSpec") => "`StyleGene(…)`".into(),
        Some("DatasetSpec") => "the dataset spec".into(),
        Some("SplitRatios") => "`splits`".into(),
        Some(other) => format!("`{other}`"),
        None => "this block".into(),
    }
}

/// Enum names from the format and attribute modules, in words.
fn enum_words(name: Option<&str>) -> String {
    match name {
        Some("Sex") => "sex".into(),
        Some("Ancestry") => "ancestry".into(),
        Some("Inheritance") => "inheritance".into(),
        Some("ModelSpec") => "model".into(),
        Some("DeviceSpec") => "device".into(),
        Some("FounderGenes") => "genes source".into(),
        Some(other) => format!("`{other}` variant"),
        None => "variant".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "ab\nçd\tx\n";
        let src = Source::new(Path::new("s.ron"), text);
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(src.line_col(x), (2, 4));
        assert_eq!(src.offset_in(0, text, 2, 4), x);
        // Relative to a slice that starts on line 2.
        assert_eq!(src.offset_in(3, &text[3..], 1, 4), x);
    }

    #[test]
    fn renders_a_caret_under_the_span() {
        let text = "(\n\tmother: \"bob\",\n)";
        let src = Source::new(Path::new("s.ron"), text);
        let start = text.find("\"bob\"").unwrap();
        let d = Diagnostic::error(Some(start..start + 5), "bad mother")
            .person("kid")
            .help("try \"ann\"");
        let shown = src.render(&d);
        assert_eq!(
            shown,
            "error: s.ron:2:10: person \"kid\": bad mother\n  |\n2 |     mother: \"bob\",\n  |             ^^^^^\n  = help: try \"ann\"\n"
        );
    }

    #[test]
    fn a_long_line_is_shown_around_the_caret() {
        let text = format!("({}x{})", "[".repeat(500), "]".repeat(500));
        let src = Source::new(Path::new("s.ron"), &text);
        let at = text.find('x').unwrap();
        let shown = src.render(&Diagnostic::error(Some(at..at + 1), "here"));
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines[2].chars().count() < 140, "{shown}");
        assert!(
            lines[2].starts_with("1 | …[") && lines[2].ends_with("]…"),
            "{shown}"
        );
        assert!(lines[2].contains("[[[[x]]]]"), "{shown}");
        // The caret is under the x.
        let x = lines[2].chars().position(|c| c == 'x').unwrap();
        assert_eq!(lines[3].chars().position(|c| c == '^'), Some(x), "{shown}");
    }
}
