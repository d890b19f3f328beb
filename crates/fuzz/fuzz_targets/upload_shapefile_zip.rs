#![no_main]

libfuzzer_sys::fuzz_target!(
    init: { machimap_fuzz::write_seeds("upload_shapefile_zip") },
    |data: &[u8]| machimap_fuzz::upload("zip", data)
);
