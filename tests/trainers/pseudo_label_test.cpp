// End-to-end tests of `kiln pseudo-label` on tiny synthetic data (to be written with the experiment).
