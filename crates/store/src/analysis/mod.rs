//! Analysing the base: deals and spend as loaded (`deals`), the segment stage's tables and
//! views (`segments`), the figures `leadpipe analyse` reports (`metrics`) and the
//! lifetime-value model's predictions per customer (`value`).

pub mod deals;
pub mod metrics;
pub mod segments;
pub mod value;
