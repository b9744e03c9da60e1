; The check of the bundled sample against its ground truth, shared by
; test-gimp2.scm and test-gimp3.scm (loaded after either, which define
; iodine-check, iodine-children, filter and the adapters to their GIMP's
; PDB: iodine-load-image, iodine-source-layer, iodine-decompose,
; iodine-image-width/height, iodine-insert-top).

; The bundled sample through the shipped default model (weights ""): labels
; is its ground truth (make-sample.sh --labels: shapes 1-4 on 0). For each
; shape, the layer whose mask covers most of it: each must cover at least
; min-share of its shape, with a mask area within a factor area-factor of
; the shape's; the four shapes' layers must be at least min-distinct
; different ones, and at least min-own of them not the last (Background);
; the group must have at least min-layers layers (the plug-in leaves out
; empty slots). A sample that decomposes into its objects has 4 and 4. The values are floors from
; the shipped model's measurement (tests/gimp/sample-floors.sh).
(define iodine-shapes '("red disc" "green square" "yellow triangle" "blue rounded rectangle"))

; the mean of a mask over the selection (or the whole mask), 0..1. Both
; GIMPs report histogram means in 0..255 (start and end are 0..1); the scale
; cannot be guessed from the value, since a mask that barely touches a shape
; has a mean below 1.
(define (iodine-mask-mean mask)
  (/ (car (gimp-drawable-histogram mask HISTOGRAM-VALUE 0.0 1.0)) 255.0))

(define (iodine-best-layer layers)
  ; (index share area) of the layer whose mask covers the selection most
  (let loop ((ls layers) (i 0) (best (list -1 -1 0)))
    (if (null? ls) best
        (let* ((mask (car (gimp-layer-get-mask (car ls))))
               (share (iodine-mask-mean mask)))
          (loop (cdr ls) (+ i 1) (if (> share (cadr best)) (list i share mask) best))))))

; checks one shape (grey level i in truth) against the layers; returns the
; index of the layer that covers it most
(define (iodine-sample-shape image layers truth i name min-share area-factor)
  (gimp-image-select-color image CHANNEL-OP-REPLACE truth (list i i i))
  (let* ((shape-area (list-ref (gimp-drawable-histogram truth HISTOGRAM-VALUE 0.0 1.0) 3))
         (best (iodine-best-layer layers))
         (w (iodine-image-width image))
         (h (iodine-image-height image)))
    (gimp-selection-none image)
    (let ((area (* (iodine-mask-mean (caddr best)) w h)))
      (iodine-say "     sample: " name " (" shape-area " pixels): layer "
                  (+ (car best) 1) " covers " (cadr best) ", mask area " area)
      (iodine-check (>= (cadr best) min-share)
                    (string-append "sample: " name " mostly in one layer"))
      (iodine-check (and (<= area (* shape-area area-factor))
                         (>= area (/ shape-area area-factor)))
                    (string-append "sample: the layer of the " name " has about its area")))
    (car best)))

(define (iodine-sample-test sample labels slots min-layers min-share area-factor min-distinct min-own)
  (let* ((image (iodine-load-image sample))
         (source (iodine-source-layer image)))
    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source slots 5 1 TRUE "" "original" 1)))
                  "sample, default model: the call succeeds")
    (let ((group (car (gimp-image-get-layer-by-name image "Objects"))))
      (iodine-check (> group 0) "sample: layer group Objects exists")
      (if (> group 0)
          (let* ((layers (iodine-children group))
                 (truth (car (gimp-file-load-layer RUN-NONINTERACTIVE image labels))))
            (iodine-say "     sample: " (length layers) " layers")
            (iodine-check (>= (length layers) min-layers) "sample: enough layers for its shapes")
            (iodine-insert-top image truth)
            (gimp-context-set-sample-threshold-int 0)
            (gimp-context-set-sample-merged FALSE)
            (gimp-context-set-antialias FALSE)
            (let ((owners (list (iodine-sample-shape image layers truth 1 (list-ref iodine-shapes 0) min-share area-factor)
                                (iodine-sample-shape image layers truth 2 (list-ref iodine-shapes 1) min-share area-factor)
                                (iodine-sample-shape image layers truth 3 (list-ref iodine-shapes 2) min-share area-factor)
                                (iodine-sample-shape image layers truth 4 (list-ref iodine-shapes 3) min-share area-factor))))
              (iodine-say "     sample: the shapes' layers " (map (lambda (i) (+ i 1)) owners))
              (iodine-check (>= (iodine-count-distinct owners) min-distinct)
                            "sample: the shapes spread over enough different layers")
              (iodine-check (>= (length (filter (lambda (i) (< i (- (length layers) 1))) owners)) min-own)
                            "sample: enough shapes in an object layer, not the background's")))))
    (gimp-image-delete image)))

(define (iodine-count-distinct l)
  (cond ((null? l) 0)
        ((member (car l) (cdr l)) (iodine-count-distinct (cdr l)))
        (else (+ 1 (iodine-count-distinct (cdr l))))))
