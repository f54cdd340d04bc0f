//! What a run leaves behind: manifest, family-tree page, contact sheet, genealogy exports.
