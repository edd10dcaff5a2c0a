//! Liveness: is the face in front of the camera a live person?
//! `passive`: the MiniFASNet ensemble on one frame; `active`: the server-issued head-movement
//! challenge, checked from landmark trajectories across frames.

pub mod active;
pub mod passive;

pub use passive::{LivenessError, PassiveLiveness, PassiveScore, silent_face_crop_box};
