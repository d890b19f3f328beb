#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("upload_csv") },
    |data: &[u8]| machimap_fuzz::upload("csv", data)
);
