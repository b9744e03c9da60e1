# What the GIMP tests require of the bundled sample decomposed by the shipped
# default model (iodine-sample-test in test-gimp2.scm / test-gimp3.scm),
# sourced by test-gimp2.sh and test-gimp3.sh. Floors a little below what the
# shipped weights measure (weights/README.md, "The bundled sample"), so that
# a change that breaks them fails; the aim is in the same section.
SAMPLE_SLOTS=6        # the general model's K
SAMPLE_MIN_LAYERS=4   # layers of the group (the plug-in leaves out empty slots)
SAMPLE_MIN_SHARE=0.35 # each shape: the mean mask of its best layer over its pixels
SAMPLE_AREA_FACTOR=7  # that layer's mask area within this factor of the shape's
SAMPLE_MIN_OWN=3      # shapes whose layer is an object layer, not the Background
