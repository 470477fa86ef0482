// End-to-end tests of `kiln weighted-sampling` on tiny synthetic data (to be written with the experiment).
