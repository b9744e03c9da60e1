; GIMP 2.10 Script-Fu checks of plug-in-iodine-decompose (run by
; test-gimp2.sh). Every check writes a line to the log; the last line is
; PASS only if all of them held.

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

(define (iodine-children item)
  (iodine-vector->list (cadr (gimp-item-get-children item))))

(define (iodine-top-layers image)
  (iodine-vector->list (cadr (gimp-image-get-layers image))))

; the sum of the masks' values at (x, y) in image coordinates
(define (iodine-mask-sum layers x y)
  (if (null? layers) 0
      (let* ((layer (car layers))
             (mask (car (gimp-layer-get-mask layer)))
             (off (gimp-drawable-offsets layer))
             (px (cadr (gimp-drawable-get-pixel mask (- x (car off)) (- y (cadr off))))))
        (+ (iodine-pixel-value px) (iodine-mask-sum (cdr layers) x y)))))

; a mask pixel's raw bytes as a value in 0..255 (8-bit, or 16-bit little
; endian); needs gimp-plugin-enable-precision, else GIMP hands Script-Fu
; pixels converted to perceptual 8-bit
(define (iodine-pixel-value px)
  (if (= (vector-length px) 1)
      (vector-ref px 0)
      (/ (+ (vector-ref px 0) (* 256 (vector-ref px 1))) 257.0)))

(define (iodine-prefix? prefix s)
  (and (>= (string-length s) (string-length prefix))
       (string=? (substring s 0 (string-length prefix)) prefix)))

(define (iodine-names-ok layers i)
  (cond ((null? layers) #t)
        ; GIMP makes item names unique: "Background #1" when the source
        ; layer is itself called "Background"
        ((null? (cdr layers))
         (iodine-prefix? "Background" (car (gimp-item-get-name (car layers)))))
        (else (and (string=? (car (gimp-item-get-name (car layers)))
                             (string-append "Object " (number->string i)))
                   (iodine-names-ok (cdr layers) (+ i 1))))))

; checks the group of one run; x0 y0 w h: the region whose masks sum to 255
(define (iodine-check-group image source label slots x0 y0 w h)
  (let* ((group (car (gimp-image-get-layer-by-name image "Objects"))))
    (iodine-check (> group 0) (string-append label ": layer group Objects exists"))
    (if (> group 0)
        (let* ((layers (iodine-children group))
               (n (length layers)))
          (iodine-check (= (car (gimp-item-is-group group)) 1) (string-append label ": Objects is a group"))
          (iodine-check (= (car (gimp-image-get-item-position image group))
                           (- (car (gimp-image-get-item-position image source)) 1))
                        (string-append label ": group placed right above the source layer"))
          (iodine-say "     " label ": " n " layers: "
                      (map (lambda (l) (car (gimp-item-get-name l))) layers))
          (iodine-check (and (>= n 1) (<= n slots)) (string-append label ": 1 <= layers <= slots"))
          (iodine-check (iodine-names-ok layers 1) (string-append label ": names Object 1.., Background last"))
          (iodine-check (= (length (filter (lambda (l) (> (car (gimp-layer-get-mask l)) 0)) layers)) n)
                        (string-append label ": every layer has a mask"))
          (iodine-check (= (length (filter (lambda (l) (and (= (car (gimp-drawable-width l)) w)
                                                            (= (car (gimp-drawable-height l)) h)))
                                           layers)) n)
                        (string-append label ": layers have the region's size"))
          (let loop ((pts (list (list 0 0) (list 1 1) (list 3 2) (list 2 5) (list 5 3) (list 7 7)
                                (list 4 4) (list 6 1) (list 1 6) (list 8 8)))
                     (bad 0))
            (if (null? pts)
                (iodine-check (= bad 0) (string-append label ": masks sum to 255 at 10 points"))
                (let* ((x (+ x0 (truncate (/ (* (car (car pts)) (- w 1)) 8))))
                       (y (+ y0 (truncate (/ (* (cadr (car pts)) (- h 1)) 8))))
                       (s (iodine-mask-sum layers x y)))
                  (if (> (abs (- s 255)) (+ n 1))
                      (iodine-say "     mask sum at " x "," y " = " s " "
                                  (map (lambda (l) (gimp-drawable-get-pixel (car (gimp-layer-get-mask l)) x y)) layers)))
                  (loop (cdr pts) (if (> (abs (- s 255)) (+ n 1)) (+ bad 1) bad)))))))
    group))

(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))

(define (iodine-run-ok thunk)
  (catch #f (begin (thunk) #t)))

; adapters for sample-check.scm
(define (iodine-load-image path) (car (gimp-file-load RUN-NONINTERACTIVE path path)))
(define (iodine-source-layer image) (car (gimp-image-get-active-layer image)))
(define (iodine-decompose image layer slots iterations seed deterministic weights content
                          restarts)
  (plug-in-iodine-decompose RUN-NONINTERACTIVE image layer slots iterations seed deterministic
                            weights content restarts))
(define (iodine-image-width image) (car (gimp-image-width image)))
(define (iodine-image-height image) (car (gimp-image-height image)))
(define (iodine-insert-top image layer) (gimp-image-insert-layer image layer 0 -1))

(define (iodine-test sample weights outdir . sample-args)
  (set! iodine-log (open-output-file (string-append outdir "/result.txt")))
  (gimp-plugin-enable-precision)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image)))
         (w (car (gimp-image-width image)))
         (h (car (gimp-image-height image))))
    (gimp-image-clean-all image)

    ; errors: no layers added, the image stays clean (no undo step)
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE "/nonexistent/weights.safetensors" "original" 1))))
                  "missing weights: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE sample "original" 1))))
                  "a PNG as weights: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 17 3 1 TRUE weights "original" 1))))
                  "slots 17: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 0 1 TRUE weights "original" 1))))
                  "iterations 0: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE weights "bogus" 1))))
                  "content bogus: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE weights "original" 0))))
                  "restarts 0: the call fails")
    (iodine-check (not (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE weights "original" 17))))
                  "restarts 17: the call fails")
    (iodine-check (= (car (gimp-image-get-layers image)) 1) "after the errors: still one layer")
    (iodine-check (= (car (gimp-image-is-dirty image)) 0) "after the errors: image clean (undo unchanged)")

    ; a good run on an RGB image
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 3 1 TRUE weights "original" 1)))
                  "RGB, original: the call succeeds")
    (iodine-check-group image source "RGB" 4 0 0 w h)
    (iodine-check (= (car (gimp-image-get-layers image)) 2) "RGB: one group added at the top level")
    (gimp-xcf-save 0 image source (string-append outdir "/rgb.xcf") (string-append outdir "/rgb.xcf"))
    (gimp-image-delete image))

  ; a selection: layers of the selection's bounds, masks × selection
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image))))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 40 30 200 150)
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 3 2 5 FALSE weights "reconstruction" 3)))
                  "selection, reconstruction, 3 restarts: the call succeeds")
    (iodine-check-group image source "selection" 3 40 30 200 150)
    (let ((group (car (gimp-image-get-layer-by-name image "Objects"))))
      (if (> group 0)
          (iodine-check (equal? (gimp-drawable-offsets (car (iodine-children group))) '(40 30))
                        "selection: layers at the selection's offsets")))
    (gimp-image-delete image))

  ; grey and indexed images, 16-bit
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image))))
    (gimp-image-convert-grayscale image)
    (gimp-image-convert-precision image PRECISION-U16-GAMMA)
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 2 2 TRUE weights "original" 1)))
                  "grey 16-bit: the call succeeds")
    (iodine-check-group image source "grey" 4 0 0 (car (gimp-image-width image)) (car (gimp-image-height image)))
    (gimp-image-delete image))
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image))))
    (gimp-image-convert-indexed image CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 32 FALSE FALSE "")
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 2 3 TRUE weights "original" 1)))
                  "indexed: the call succeeds")
    (iodine-check-group image source "indexed" 4 0 0 (car (gimp-image-width image)) (car (gimp-image-height image)))
    ; layer offsets: a moved layer in a bigger canvas
    (gimp-image-delete image))
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE sample sample)))
         (source (car (gimp-image-get-active-layer image))))
    (gimp-image-resize image 400 300 0 0)
    (gimp-layer-set-offsets source 50 40)
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-NONINTERACTIVE image source 4 2 4 TRUE weights "original" 1)))
                  "offset layer: the call succeeds")
    (iodine-check-group image source "offset" 4 50 40 (car (gimp-drawable-width source)) (car (gimp-drawable-height source)))
    ; WITH-LAST-VALS repeats the last run
    (iodine-check (iodine-run-ok (lambda () (plug-in-iodine-decompose RUN-WITH-LAST-VALS image source 0 0 0 0 "" "" 1)))
                  "with last values: the call succeeds")
    (iodine-check (= (car (gimp-image-get-layers image)) 3) "with last values: a second group")
    (gimp-image-delete image))

  (if (pair? sample-args) (apply iodine-sample-test sample sample-args))

  (iodine-say (if (= iodine-failures 0) "PASS" "FAIL"))
  (close-output-port iodine-log))
