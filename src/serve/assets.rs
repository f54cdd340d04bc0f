//! Everything the page needs, inside the binary (no CDN: the designer works
//! offline), and the shipped scenarios the page can start from.

/// (path under `/assets/`, content type, bytes).
pub const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
];

/// The designer page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");

/// The shipped scenarios the page offers (name, text).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "two_parents_one_child",
        include_str!("../../scenarios/two_parents_one_child.ron"),
    ),
    ("three_gen", include_str!("../../scenarios/three_gen.ron")),
    (
        "four_gen_cousins",
        include_str!("../../scenarios/four_gen_cousins.ron"),
    ),
];

/// An embedded asset by its name under `/assets/`.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ty, body)| (*ty, *body))
}
