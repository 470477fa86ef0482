// End-to-end tests of `kiln batchnorm` on tiny synthetic data (to be written with the experiment).
