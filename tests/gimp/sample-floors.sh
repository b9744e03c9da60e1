# What the GIMP tests require of the bundled sample decomposed by the shipped
# default model (iodine-sample-test in sample-check.scm), sourced by
# test-gimp2.sh and test-gimp3.sh: floors at or a little below what the
# shipped weights measure (weights/README.md: "The bundled sample", and the
# general model's session 8), so that a change that breaks them fails. The
# general model shipped now (step 4,270) decomposes the sample into its
# objects: the four shapes in four different object layers, the gradient in
# the Background, in GIMP 2.10 and 3.0 alike.
SAMPLE_SLOTS=6        # the general model's K
SAMPLE_MIN_LAYERS=5   # layers of the group (the plug-in leaves out empty slots); measured 5
SAMPLE_MIN_SHARE=0.65 # each shape: the mean mask of its best layer over its pixels; measured ≥ 0.73
SAMPLE_AREA_FACTOR=3  # that layer's mask area within this factor of the shape's; measured ≤ 2.2
SAMPLE_MIN_DISTINCT=4 # different layers among the four shapes' layers; measured 4 in GIMP 2.10 and 3.0
SAMPLE_MIN_OWN=4      # shapes whose layer is an object layer, not the Background; measured 4
