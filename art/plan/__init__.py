"""Planning, in pure Python and numpy: the VGG19 layer table, the levels of a render
(sizes, iterations, style scale), how tiles are cut, what a level costs in memory and
time, and the arithmetic this CPU paints in. Nothing here imports TensorFlow (a test
holds it to that), so a plan can be made, checked and refused before the network is
loaded."""
