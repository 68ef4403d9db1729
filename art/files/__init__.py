"""Files and formats: every file art reads or writes. Atomic writes, images and their
encoders, weight files, the work folder of a render, and animations."""
