//! One checker per property. Each module names the property it guards. The simulation
//! calls the checkers as events happen and collects the violations.

pub mod agreement;
pub mod certificate_validity;
pub mod honest_equivocation;
pub mod liveness;
pub mod monotonic_views;
pub mod validity;

use serde::Serialize;

/// A property that failed, when and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub property: &'static str,
    pub time_ms: u64,
    pub process: Option<usize>,
    pub detail: String,
}
