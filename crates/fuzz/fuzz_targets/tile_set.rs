#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("tile_set") },
    |data: &[u8]| machimap_fuzz::tile_set(data)
);
