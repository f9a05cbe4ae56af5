//! Pure rules: how carrier news is merged, when a shipment is next checked, what a sync may
//! spend.

pub mod budget;
pub mod merge;
pub mod schedule;
