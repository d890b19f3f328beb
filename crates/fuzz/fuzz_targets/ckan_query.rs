#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("ckan_query") },
    |data: &[u8]| machimap_fuzz::ckan_query(data)
);
