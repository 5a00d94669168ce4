//! Status codes. The Rust SDK 0.2.5 panics on any other value, so the host returns only these.

pub const OK: i32 = 0;
pub const NOT_FOUND: i32 = 1;
pub const BAD_ARGUMENT: i32 = 2;
pub const SERIALIZATION_FAILURE: i32 = 3;
pub const PARSE_FAILURE: i32 = 4;
pub const EMPTY: i32 = 7;
pub const CAS_MISMATCH: i32 = 8;
pub const INTERNAL_FAILURE: i32 = 10;

/// Every status the host may return (checked by a unit test against the SDK's `Status` enum).
pub const ALL: [i32; 8] = [
    OK,
    NOT_FOUND,
    BAD_ARGUMENT,
    SERIALIZATION_FAILURE,
    PARSE_FAILURE,
    EMPTY,
    CAS_MISMATCH,
    INTERNAL_FAILURE,
];
