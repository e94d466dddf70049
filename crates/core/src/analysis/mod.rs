//! Analysing the base: how customers buy. `rfm` scores recency, frequency and spend by
//! quintiles and names the usual segments; `clv` fits the BG/NBD model of repeat purchases
//! and the Gamma-Gamma model of spend by maximum likelihood (`optimise`, with the special
//! functions of `special`), and predicts per customer: expected purchases ahead, the
//! probability they are still active, expected spend; `purchases` counts the figures per
//! period, cohort and source from every customer's purchase days. Pure functions;
//! reading deals from the base is the store's job.

pub mod clv;
pub mod optimise;
pub mod purchases;
pub mod rfm;
pub mod segments;
pub mod special;
