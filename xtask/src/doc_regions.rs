//! Generated regions of a hand-written markdown page and the markdown table: the lab's
//! (`decide::doc_regions`), shared with the bench page.

pub use decide::doc_regions::{rewrite, table};
