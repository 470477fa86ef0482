// End-to-end tests of `kiln label-smoothing` on tiny synthetic data (to be written with the experiment).
