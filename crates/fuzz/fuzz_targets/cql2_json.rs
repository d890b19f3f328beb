#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("cql2_json") },
    |data: &[u8]| machimap_fuzz::cql2(machimap::filter::Lang::Json, data)
);
