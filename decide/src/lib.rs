//! The decision lab: which target, Kubernetes or Lambda, serves a given traffic best, priced and
//! modelled from data only (the benchmark's measurements, the price and platform parameter files, a
//! traffic trace). It never starts a target.
//!
//! `cost` is the monthly cost model (docs/cost.md); the rest of the lab extends it over time.

pub mod chart;
pub mod cli;
pub mod cost;
pub mod deploy;
pub mod input;
pub mod lab;
pub mod measurements;
pub mod numbers;
pub mod params;
pub mod paths;
pub mod platform;
pub mod report;
pub mod sim;
pub mod svg;
pub mod template;
pub mod traffic;
