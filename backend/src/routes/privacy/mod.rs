//! Handlers of the employee's privacy rights: corrections, erasure, exports, restrictions.

pub mod correction;
pub mod erasure;
pub mod export;
pub mod restriction;
