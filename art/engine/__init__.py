"""The engine: the VGG19 graph, the loss terms, the whole-picture and tiled evaluators
(and their cluster form), the optimisers, and the render loop that paints a plan's levels."""
