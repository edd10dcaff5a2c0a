//! Who is calling, and what they may touch. Every role and scope decision of the API is made
//! here: the extractors below say which roles may call a handler, and [`Scope`] gives the
//! employee filter every employee query uses.
//!
//! * [`tokens`]: access tokens and opaque tokens;
//! * [`password`]: password hashing and the rules of a new password;
//! * [`sessions`]: session revocation and the cookies a browser authenticates with;
//! * [`scope`]: the operator-scope decision;
//! * the caller extractors ([`AuthUser`], [`Staff`], [`Admin`], [`Kiosk`]).

mod caller;
pub mod password;
pub mod scope;
pub mod sessions;
pub mod tokens;

pub use caller::{
    ALLOWED_BEFORE_PASSWORD_CHANGE, Admin, AuthUser, Caller, Kiosk, KioskCaller, Staff, request_id,
};
pub use scope::{Scope, Subject, check_employee_scope, out_of_scope, role_not_allowed};
pub use tokens::{Claims, JwtKeys, new_opaque_token, token_hash};
