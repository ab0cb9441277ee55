#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(id) = tg_identity::SpiffeId::parse(s) {
            assert_eq!(id.to_string(), s);
        }
    }
});
