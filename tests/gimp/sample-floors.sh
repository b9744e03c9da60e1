# What the GIMP tests require of the bundled sample decomposed by the shipped
# default model (iodine-sample-test in sample-check.scm), sourced by
# test-gimp2.sh and test-gimp3.sh: floors at or a little below what the
# shipped weights measure (weights/README.md: "The bundled sample", and the
# general model's session 7), so that a change that breaks them fails. A
# sample decomposed into its objects would have SAMPLE_MIN_DISTINCT=4 and
# SAMPLE_MIN_OWN=4; the general model
# shipped now (step 3,865) puts the four shapes into four different layers,
# three of them object layers (the green square shares the Background's).
SAMPLE_SLOTS=6        # the general model's K
SAMPLE_MIN_LAYERS=4   # layers of the group (the plug-in leaves out empty slots); measured 4
SAMPLE_MIN_SHARE=0.45 # each shape: the mean mask of its best layer over its pixels; measured ≥ 0.52
SAMPLE_AREA_FACTOR=8  # that layer's mask area within this factor of the shape's; measured ≤ 5.5
SAMPLE_MIN_DISTINCT=4 # different layers among the four shapes' layers; measured 4 in GIMP 2.10 and 3.0
SAMPLE_MIN_OWN=3      # shapes whose layer is an object layer, not the Background; measured 3
