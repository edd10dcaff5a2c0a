//! Liveness: is the face in front of the camera a live person?

pub mod active;
