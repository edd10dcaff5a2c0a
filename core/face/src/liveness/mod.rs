//! Liveness (anti-spoofing). `passive`: MiniFASNet ensemble on one frame. The active
//! challenge check (landmark trajectories) lives in `active` (separate work item).

pub mod passive;

pub use passive::{LivenessError, PassiveLiveness, PassiveScore, silent_face_crop_box};
