//! The FaceID mobile client core: session, offline outbox, sync, location recorder, check-in flow.
//!
//! - [`app`]: the facade the apps and the simulator hold: it assembles the parts below and
//!   owns their lifecycle (restore, per-employee outbox, session expiry).
//! - [`outbox`]: the durable SQLite queue every upload goes through.
//! - [`location`]: the recorder that filters, flags and batches GPS fixes into the outbox.
//! - [`checkin`]: the camera capture (quality, challenge, 1:1) and sealing a punch.
//! - [`session`]: login, logout, the current user, single-flight token refresh.
//! - [`sync`]: the task that drains the outbox to the server.
//! - [`records`]: the employee's own records on the server (history, track, descriptors).
//! - [`enrolment`]: the employee's face enrolment, queued in the outbox.
//! - [`consent`]: the server's current consent texts and the employee's ledger state.
//! - [`kiosk`]: a shared kiosk identifying people 1:N through the server.
//! - [`privacy`]: the employee's export, erasure and correction requests, restrictions.
//! - [`profile`]: the employee's own profile photo.
//! - [`telegram`]: the employee's Telegram link and notification switches.
//! - [`admin`]: what administrators and operators do from the app (today, review, lists).
//! - [`store`], [`device_key`], [`clock`], [`http`]: platform traits and shared plumbing.

pub mod admin;
pub mod app;
pub mod checkin;
pub mod clock;
pub mod consent;
pub mod device_key;
pub mod enrolment;
pub mod http;
pub mod kiosk;
pub mod location;
pub mod outbox;
pub mod privacy;
pub mod profile;
pub mod records;
pub mod session;
pub mod store;
pub mod sync;
pub mod telegram;
