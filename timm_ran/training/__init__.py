"""What the tools share to train and evaluate: data sets and transforms (``data``), in-memory batches with
batched augmentation (``batch_data``), evaluation sums (``evaluation``), device and precision settings
(``runtime``), the run folder's log (``run_log``), seeded comparisons (``seeds``) and atomic file writes
(``files``)."""
