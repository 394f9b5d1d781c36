//! The id rule: whatever the text, `UserId::parse` never panics, accepts only what the rule allows,
//! and agrees with deserialisation (the other way an id enters the service).
#![no_main]

use app_core::domain::{MAX_USER_ID_LEN, UserId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let parsed = UserId::parse(text);
    let deserialised = serde_json::from_value::<UserId>(serde_json::Value::String(text.to_owned()));
    assert_eq!(parsed.is_ok(), deserialised.is_ok(), "{text:?}");
    if let Ok(id) = parsed {
        assert_eq!(id.as_str(), text);
        assert!(!text.is_empty() && text.len() <= MAX_USER_ID_LEN, "{text:?}");
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text:?}");
    }
});
