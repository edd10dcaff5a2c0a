//! The FaceID mobile client core: session, offline outbox, sync, location recorder, check-in flow.
