//! The FaceID face engine: decode, detect, align, embed, liveness, quality and matching.
