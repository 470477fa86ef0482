// End-to-end tests of `kiln disturb-label` on tiny synthetic data (to be written with the experiment).
