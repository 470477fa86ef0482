// End-to-end tests of `kiln weighted-loss` on tiny synthetic data (to be written with the experiment).
