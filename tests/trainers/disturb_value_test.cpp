// End-to-end tests of `kiln disturb-value` on tiny synthetic data (to be written with the experiment).
