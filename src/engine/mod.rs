//! Runs a pedigree through the genetics and a face model, generation by generation.
