// End-to-end tests of `kiln confusion-matrix` on tiny synthetic data (to be written with the experiment).
