//! Wire types shared by the FaceID client core and the backend: request and response bodies
//! of `/api/v1`, and the limits both sides enforce.
