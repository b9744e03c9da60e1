; GIMP 3.0 Script-Fu checks of plug-in-iodine-decompose (run by
; test-gimp3.sh inside the Debian 13 chroot). Same checks as
; test-gimp2.scm, through the GIMP 3 PDB. Every check writes a line to the
; log; the last line is PASS only if all of them held.

(define iodine-log #f)
(define iodine-failures 0)

(define (iodine-say . items)
  (for-each (lambda (x) (display x iodine-log)) items)
  (newline iodine-log))

(define (iodine-check ok what)
  (if ok
      (iodine-say "ok   " what)
      (begin (set! iodine-failures (+ iodine-failures 1))
             (iodine-say "FAIL " what))))

(define (iodine-vector->list v)
  (let loop ((i (- (vector-length v) 1)) (acc '()))
    (if (< i 0) acc (loop (- i 1) (cons (vector-ref v i) acc)))))

(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))

(define (iodine-true? v) (or (eq? v #t) (and (number? v) (not (= v 0)))))

(define (iodine-children item)
  (iodine-vector->list (car (gimp-item-get-children item))))

(define (iodine-first-layer image)
  (vector-ref (car (gimp-image-get-layers image)) 0))

(define (iodine-n-layers image)
  (vector-length (car (gimp-image-get-layers image))))

; Script-Fu hands pixels over as 8-bit perceptual colours: back to linear
(define (iodine-first-number x)
  (cond ((number? x) x)
        ((pair? x) (iodine-first-number (car x)))
        ((vector? x) (iodine-first-number (vector-ref x 0)))
        (else 0)))

(define (iodine-linear c)
  (let ((x (/ c 255.0)))
    (if (<= x 0.04045) (/ x 12.92) (expt (/ (+ x 0.055) 1.055) 2.4))))

(define (iodine-mask-sum layers x y)
  (if (null? layers) 0
      (let* ((layer (car layers))
             (mask (car (gimp-layer-get-mask layer)))
             (off (gimp-drawable-get-offsets layer))
             (px (gimp-drawable-get-pixel mask (- x (car off)) (- y (cadr off)))))
        (+ (iodine-linear (iodine-first-number px)) (iodine-mask-sum (cdr layers) x y)))))

(define (iodine-prefix? prefix s)
  (and (>= (string-length s) (string-length prefix))
       (string=? (substring s 0 (string-length prefix)) prefix)))

(define (iodine-names-ok layers i)
  (cond ((null? layers) #t)
        ((null? (cdr layers))
         (iodine-prefix? "Background" (car (gimp-item-get-name (car layers)))))
        (else (and (string=? (car (gimp-item-get-name (car layers)))
                             (string-append "Object " (number->string i)))
                   (iodine-names-ok (cdr layers) (+ i 1))))))

(define (iodine-check-group image source label slots x0 y0 w h)
  (let* ((group (car (gimp-image-get-layer-by-name image "Objects"))))
    (iodine-check (> group 0) (string-append label ": layer group Objects exists"))
    (if (> group 0)
        (let* ((layers (iodine-children group))
               (n (length layers)))
          (iodine-check (iodine-true? (car (gimp-item-is-group group))) (string-append label ": Objects is a group"))
          (iodine-check (= (car (gimp-image-get-item-position image group))
                           (- (car (gimp-image-get-item-position image source)) 1))
                        (string-append label ": group placed right above the source layer"))
          (iodine-say "     " label ": " n " layers: "
                      (map (lambda (l) (car (gimp-item-get-name l))) layers))
          (iodine-check (and (>= n 1) (<= n slots)) (string-append label ": 1 <= layers <= slots"))
          (iodine-check (iodine-names-ok layers 1) (string-append label ": names Object 1.., Background last"))
          (iodine-check (= (length (filter (lambda (l) (> (car (gimp-layer-get-mask l)) 0)) layers)) n)
                        (string-append label ": every layer has a mask"))
          (iodine-check (= (length (filter (lambda (l) (and (= (car (gimp-drawable-get-width l)) w)
                                                            (= (car (gimp-drawable-get-height l)) h)))
                                           layers)) n)
                        (string-append label ": layers have the region's size"))
          (let loop ((pts (list (list 0 0) (list 1 1) (list 3 2) (list 2 5) (list 5 3) (list 7 7)
                                (list 4 4) (list 6 1) (list 1 6) (list 8 8)))
                     (bad 0))
            (if (null? pts)
                (iodine-check (= bad 0) (string-append label ": masks sum to 1 at 10 points"))
                (let* ((x (+ x0 (truncate (/ (* (car (car pts)) (- w 1)) 8))))
                       (y (+ y0 (truncate (/ (* (cadr (car pts)) (- h 1)) 8))))
                       (s (iodine-mask-sum layers x y))
                       (off (> (abs (- s 1.0)) (+ 0.02 (* 0.01 n)))))
                  (if off (iodine-say "     mask sum at " x "," y " = " s))
                  (loop (cdr pts) (if off (+ bad 1) bad)))))))
    group))

(define (iodine-run-ok thunk)
  (catch #f (begin (thunk) #t)))

(define (iodine-decompose image layer slots iterations seed deterministic weights content)
  (plug-in-iodine-decompose RUN-NONINTERACTIVE image (vector layer) slots iterations seed
                            deterministic weights content))

; GIMP 3 hands histogram means over as 0..1 (GIMP 2.10: 0..255)
(define (iodine-histogram-mean m)
  (if (> m 1.0) (/ m 255.0) m))

; The bundled sample through the shipped default model (weights ""): labels
; is its ground truth (make-sample.sh --labels: shapes 1-4 on 0). For each
; shape, the layer whose mask covers most of it: the shapes must land in
; different layers, each covering at least min-share of its shape, with a
; mask area within a factor area-factor of the shape's; at least min-layers
; layers (the plug-in leaves out empty slots); at least min-own shapes
; whose layer is not the last (Background). The values are floors from
; the shipped model's measurement (tests/gimp/sample-floors.sh).
(define iodine-shapes '("red disc" "green square" "yellow triangle" "blue rounded rectangle"))

; the mean of a mask over the selection (or the whole mask), 0..1
(define (iodine-mask-mean mask)
  (iodine-histogram-mean (car (gimp-drawable-histogram mask HISTOGRAM-VALUE 0.0 1.0))))

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
         (w (car (gimp-image-get-width image)))
         (h (car (gimp-image-get-height image))))
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

(define (iodine-sample-test sample labels slots min-layers min-share area-factor min-own)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample)))
         (source (iodine-first-layer image)))
    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source slots 5 1 TRUE "" "original")))
                  "sample, default model: the call succeeds")
    (let ((group (car (gimp-image-get-layer-by-name image "Objects"))))
      (iodine-check (> group 0) "sample: layer group Objects exists")
      (if (> group 0)
          (let* ((layers (iodine-children group))
                 (truth (car (gimp-file-load-layer RUN-NONINTERACTIVE image labels))))
            (iodine-say "     sample: " (length layers) " layers")
            (iodine-check (>= (length layers) min-layers) "sample: enough layers for its shapes")
            (gimp-image-insert-layer image truth -1 -1)
            (gimp-context-set-sample-threshold-int 0)
            (gimp-context-set-sample-merged FALSE)
            (gimp-context-set-antialias FALSE)
            (let ((owners (list (iodine-sample-shape image layers truth 1 (list-ref iodine-shapes 0) min-share area-factor)
                                (iodine-sample-shape image layers truth 2 (list-ref iodine-shapes 1) min-share area-factor)
                                (iodine-sample-shape image layers truth 3 (list-ref iodine-shapes 2) min-share area-factor)
                                (iodine-sample-shape image layers truth 4 (list-ref iodine-shapes 3) min-share area-factor))))
              (iodine-check (iodine-distinct? owners) "sample: the 4 shapes are in 4 different layers")
              (iodine-check (>= (length (filter (lambda (i) (< i (- (length layers) 1))) owners)) min-own)
                            "sample: enough shapes in an object layer, not the background's")))))
    (gimp-image-delete image)))

(define (iodine-distinct? l)
  (cond ((null? l) #t)
        ((member (car l) (cdr l)) #f)
        (else (iodine-distinct? (cdr l)))))

(define (iodine-test sample weights outdir . sample-args)
  (set! iodine-log (open-output-file (string-append outdir "/result.txt")))
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample)))
         (source (iodine-first-layer image))
         (w (car (gimp-image-get-width image)))
         (h (car (gimp-image-get-height image))))
    (gimp-image-clean-all image)

    (iodine-check (not (iodine-run-ok (lambda () (iodine-decompose image source 4 3 1 TRUE "/nonexistent/weights.safetensors" "original"))))
                  "missing weights: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (iodine-decompose image source 4 3 1 TRUE sample "original"))))
                  "a PNG as weights: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (iodine-decompose image source 17 3 1 TRUE weights "original"))))
                  "slots 17: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (iodine-decompose image source 4 0 1 TRUE weights "original"))))
                  "iterations 0: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (iodine-decompose image source 4 3 1 TRUE weights "bogus"))))
                  "content bogus: the call fails")
    (iodine-check (= (iodine-n-layers image) 1) "after the errors: still one layer")
    (iodine-check (not (iodine-true? (car (gimp-image-is-dirty image)))) "after the errors: image clean (undo unchanged)")

    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source 4 3 1 TRUE weights "original")))
                  "RGB, original: the call succeeds")
    (iodine-check-group image source "RGB" 4 0 0 w h)
    (iodine-check (= (iodine-n-layers image) 2) "RGB: one group added at the top level")
    (iodine-check (iodine-run-ok (lambda () (gimp-xcf-save RUN-NONINTERACTIVE image (string-append outdir "/rgb.xcf"))))
                  "RGB: saved as .xcf")
    (gimp-image-delete image))

  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample)))
         (source (iodine-first-layer image)))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 40 30 200 150)
    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source 3 2 5 FALSE weights "reconstruction")))
                  "selection, reconstruction: the call succeeds")
    (iodine-check-group image source "selection" 3 40 30 200 150)
    (let ((group (car (gimp-image-get-layer-by-name image "Objects"))))
      (if (> group 0)
          (iodine-check (equal? (gimp-drawable-get-offsets (car (iodine-children group))) '(40 30))
                        "selection: layers at the selection's offsets")))
    (gimp-image-delete image))

  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample)))
         (source (iodine-first-layer image)))
    (gimp-image-convert-grayscale image)
    (gimp-image-convert-precision image PRECISION-U16-NON-LINEAR)
    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source 4 2 2 TRUE weights "original")))
                  "grey 16-bit: the call succeeds")
    (iodine-check-group image source "grey" 4 0 0 (car (gimp-image-get-width image)) (car (gimp-image-get-height image)))
    (gimp-image-delete image))

  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample)))
         (source (iodine-first-layer image)))
    (gimp-image-resize image 400 300 0 0)
    (gimp-layer-set-offsets source 50 40)
    (iodine-check (iodine-run-ok (lambda () (iodine-decompose image source 4 2 4 TRUE weights "original")))
                  "offset layer: the call succeeds")
    (iodine-check-group image source "offset" 4 50 40 (car (gimp-drawable-get-width source)) (car (gimp-drawable-get-height source)))
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-WITH-LAST-VALS image (vector source) 2 1 0 FALSE "" "original")))
                  "with last values: the call succeeds")
    (iodine-check (= (iodine-n-layers image) 3) "with last values: a second group")
    (gimp-image-delete image))

  (if (pair? sample-args) (apply iodine-sample-test sample sample-args))

  (iodine-say (if (= iodine-failures 0) "PASS" "FAIL"))
  (close-output-port iodine-log))
