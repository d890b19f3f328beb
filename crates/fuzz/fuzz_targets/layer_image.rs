#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("layer_image") },
    |data: &[u8]| machimap_fuzz::layer_image(data)
);
